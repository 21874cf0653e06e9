"""The public status page: what a visitor sees, and what it never shows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.services import health_report, system_create
from incidents.services import incident_add_update, incident_create, incident_resolve
from maintenance.services import maintenance_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    api = system_create(name="Public API", metadata={"owner": "team-secret-owner"}, actor="system")
    db = system_create(name="Database", actor="system")
    system_create(name="Unreported", actor="system")
    health_report(system=api, status="degraded", message="Elevated latency", latency_ms=912, actor="system")
    health_report(system=db, status="healthy", actor="system")
    incident = incident_create(title="API errors", system_ids=[api.pk], severity="critical",
                               initial_message="Looking into it", actor="user:oncall-alice")
    incident_add_update(incident=incident, message="Fix is rolling out", status_change="fixing",
                        actor="user:oncall-alice")
    closed = incident_create(title="Old resolved outage", system_ids=[db.pk], actor="system")
    incident_resolve(incident=closed, actor="system")
    now = timezone.now()
    maintenance_create(title="Database upgrade", system_ids=[db.pk], start_at=now + timedelta(days=1),
                       end_at=now + timedelta(days=1, hours=2), actor="system")
    maintenance_create(title="Network work", system_ids=[api.pk], start_at=now - timedelta(hours=1),
                       end_at=now + timedelta(hours=1), status="in_progress", actor="system")
    return {"api": api, "incident": incident, "closed": closed}


def test_a_visitor_sees_health_open_incidents_and_maintenance(world):
    response = Client().get("/status/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Public API", "degraded", "Elevated latency", "Database", "healthy", "Unreported", "No data",
                 "API errors", "critical", "fixing", "Fix is rolling out", "Database upgrade", "scheduled",
                 "Network work", "in progress"):
        assert text in html, text
    assert "Looking into it" not in html  # only the latest update


def test_nothing_internal_is_shown(world):
    html = Client().get("/status/").content.decode()
    # The incident's id is in its page's link (/status/incidents/<id>/); the systems' ids are not shown.
    for hidden in (str(world["api"].pk), "oncall-alice", "team-secret-owner", "912",
                   "Old resolved outage", "/admin/", "user:", "run:"):
        assert hidden not in html, hidden


def test_only_reads_are_allowed_and_the_page_is_the_same_for_everyone():
    client = Client()
    assert client.post("/status/").status_code == 405
    response = client.get("/status/")
    # public: no form, no CSRF token, no cookie, so shared caches may keep it
    assert sorted(response["Cache-Control"].split(", ")) == ["max-age=30", "public"]
    assert "csrfmiddlewaretoken" not in response.content.decode()
    assert not response.cookies


def _fill(copies: int, first: int = 0) -> None:
    for n in range(first, first + copies):
        system = system_create(name=f"s{n}", actor="system")
        health_report(system=system, status="healthy", actor="system")
        incident = incident_create(title=f"i{n}", system_ids=[system.pk], initial_message="m", actor="system")
        incident_add_update(incident=incident, message="u", actor="system")
        maintenance_create(title=f"w{n}", system_ids=[system.pk], start_at=timezone.now() + timedelta(hours=1),
                           end_at=timezone.now() + timedelta(hours=2), actor="system")


@pytest.mark.parametrize("path", ["/status/", "/status/summary.json"])
def test_query_count_does_not_grow_with_content(path):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert Client().get(path).status_code == 200
        return len(queries)

    _fill(1)
    one = count()
    _fill(6, first=1)

    assert count() == one <= 15
