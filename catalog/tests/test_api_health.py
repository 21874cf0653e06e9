"""systems/{id}/health/: read the current health, report a new one (a monitoring token can)."""

import uuid

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import SystemHealth
from catalog.services import health_report

from .factories import ACTOR, api_as, change_events, log_size, make_system, make_user, transition_rows

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def url(system_or_id):
    return f"/api/v1/systems/{getattr(system_or_id, 'pk', system_or_id)}/health/"


def iso(dt):
    return dt.isoformat().replace("+00:00", "Z")


def test_get_before_the_first_report_is_all_unknown(admin_api):
    system = make_system()

    response = admin_api.get(url(system))

    assert response.status_code == 200
    assert response.json() == {
        "system_id": str(system.pk),
        "status": None,
        "message": "",
        "latency_ms": None,
        "updated_at": None,
        "impact_status": None,
        "impacted_by": [],
    }


def test_post_reports_health_through_the_service(admin_api):
    system = make_system()

    response = admin_api.post(url(system), {"status": "degraded", "message": "slow", "latency_ms": 800}, format="json")

    assert response.status_code == 200
    health = SystemHealth.objects.get(pk=system.pk)
    assert response.json() == {
        "system_id": str(system.pk),
        "status": "degraded",
        "message": "slow",
        "latency_ms": 800,
        "updated_at": iso(health.updated_at),
        "impact_status": "degraded",
        "impacted_by": [],
    }
    assert transition_rows(system.pk)[4:] == [
        ("health", "latency_ms", None, 800, "user:admin"),
        ("health", "message", None, "slow", "user:admin"),
        ("health", "status", None, "degraded", "user:admin"),
    ]
    assert admin_api.get(url(system)).json() == response.json()


def test_post_with_only_status_clears_message_and_latency(admin_api):
    system = make_system()
    admin_api.post(url(system), {"status": "degraded", "message": "slow", "latency_ms": 800}, format="json")

    response = admin_api.post(url(system), {"status": "healthy"}, format="json")

    assert (response.json()["message"], response.json()["latency_ms"]) == ("", None)
    event = change_events(system.pk, kind="health")[-1]
    assert event.delta == {"status": "healthy", "message": "", "latency_ms": None}


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "status"),
        ({"status": "sick"}, "status"),
        ({"status": None}, "status"),
        ({"status": "healthy", "latency_ms": -1}, "latency_ms"),
        ({"status": "healthy", "latency_ms": 2_147_483_648}, "latency_ms"),
        ({"status": "healthy", "latency_ms": "fast"}, "latency_ms"),
        ({"status": "healthy", "message": "nul\x00"}, "message"),
    ],
)
def test_bad_report_is_400_and_writes_nothing(admin_api, body, field):
    system = make_system()
    before = log_size()

    response = admin_api.post(url(system), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert log_size() == before
    assert not SystemHealth.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_system_is_404(admin_api, method):
    for system_id in (uuid.uuid4(), "not-a-uuid", "1.5"):
        response = getattr(admin_api, method)(url(system_id), {"status": "healthy"}, format="json")
        assert response.status_code == 404
        assert list(response.json()) == ["detail"]
    assert log_size() == (0, 0)


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_401(api_client, method):
    system = make_system()
    before = log_size()

    response = getattr(api_client, method)(url(system), {"status": "healthy"}, format="json")

    assert response.status_code == 401
    assert log_size() == before


def test_monitoring_token_with_change_systemhealth_can_report():
    system = make_system()
    token = Token.objects.create(user=make_user("monitor", "catalog.change_systemhealth"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.post(url(system), {"status": "unhealthy", "message": "timeout"}, format="json")

    assert response.status_code == 200
    assert change_events(system.pk, kind="health")[-1].actor == "user:monitor"
    # Reporting is all it may do.
    assert client.get(url(system)).status_code == 403


@pytest.mark.parametrize(
    "perms",
    [
        ("catalog.view_system", "catalog.change_system", "catalog.view_systemhealth"),
        ("catalog.add_systemhealth",),
    ],
)
def test_report_without_change_systemhealth_is_403(perms):
    system = make_system()
    before = log_size()

    response = api_as("someone", *perms).post(url(system), {"status": "healthy"}, format="json")

    assert response.status_code == 403
    assert log_size() == before


def test_read_needs_view_systemhealth():
    system = make_system()
    health_report(system=system, status="healthy", actor=ACTOR)

    assert api_as("viewer", "catalog.view_system").get(url(system)).status_code == 403
    allowed = api_as("health-viewer", "catalog.view_systemhealth").get(url(system))
    assert (allowed.status_code, allowed.json()["status"]) == (200, "healthy")
