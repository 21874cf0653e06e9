"""/healthz answers without login and says what it checked."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "oldest_undelivered_change_seconds": None,
        "oldest_overdue_timer_seconds": None,
        "parked_changes": 0,
        "channel_deliveries_pending": 0,
        "channel_deliveries_failed": 0,
    }


def test_healthz_reports_the_age_of_an_undelivered_change(client):
    from catalog.services import system_create

    system_create(name="api", actor="system")

    body = client.get("/healthz").json()

    assert body["status"] == "ok"
    assert isinstance(body["oldest_undelivered_change_seconds"], float)
    assert body["oldest_undelivered_change_seconds"] >= 0
