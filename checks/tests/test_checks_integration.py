"""Checks end to end: PostgreSQL, Redis, a real worker and beat, a real local HTTP server.

A server that goes down makes its system unhealthy after the configured failures; the installed "sustained
degradation" template opens one incident and resolves it once the server is back; a missed heartbeat fails
its system within period + grace + 2 s. Intervals are the smallest a check allows (10 s) and the template's
shortest dwell and cool-down (1 minute each).
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import Transition
from catalog.models import SystemHealth
from checks.models import Check, CheckKind, CheckResult
from incidents.models import Incident, IncidentStatus
from testing.process_fixtures import start_beat, start_worker, wait_for

from .run_support import make_check, make_checked_system
from .servers import HttpTarget

pytestmark = pytest.mark.integration


@pytest.fixture
def processes(integration, tmp_path):
    procs = [start_worker(tmp_path, name="checks-w", concurrency=4), start_beat(tmp_path, name="checks-beat")]
    yield procs
    for proc in procs:
        proc.stop()


def status(system):
    return SystemHealth.objects.filter(pk=system.pk).values_list("status", flat=True).first()


def open_incidents(system):
    return Incident.objects.filter(systems=system).exclude(status=IncidentStatus.RESOLVED)


def test_server_down_unhealthy_one_incident_then_resolved(processes, admin_api):
    installed = admin_api.post("/api/v1/automation-templates/incident-on-sustained-degradation/install/",
                               {"parameters": {"minutes": 1, "cooldown_minutes": 1}}, format="json")
    assert installed.status_code == 201, installed.content
    system = make_checked_system("shop", threshold=2)
    with HttpTarget() as server:
        make_check(system, name="front", url=f"{server.url}/healthz", interval_seconds=10, timeout_seconds=2)
        Check.objects.update(next_run_at=timezone.now())  # no first-run spread: start now
        wait_for(lambda: status(system) == "healthy", timeout=15, what="healthy")

        server.up = False
        went_down = time.monotonic()
        wait_for(lambda: status(system) == "unhealthy", timeout=30, what="unhealthy after two failures")
        assert 10 <= time.monotonic() - went_down <= 25  # the second failure, one interval after the first
        assert SystemHealth.objects.get(pk=system.pk).message == "front: HTTP 503 (2 failures in a row)"

        wait_for(lambda: open_incidents(system).exists(), timeout=75, what="an incident after 1 minute")
        server.up = True
        wait_for(lambda: status(system) == "healthy", timeout=15, what="healthy again")
        wait_for(lambda: not open_incidents(system).exists(), timeout=80, what="the incident resolved")

    incidents = Incident.objects.filter(systems=system)
    assert incidents.count() == 1 and incidents.get().status == IncidentStatus.RESOLVED
    transitions = list(Transition.objects.filter(kind="health", entity_id=str(system.pk), field="status")
                       .order_by("at", "id").values_list("to_value", flat=True))
    assert transitions == ["healthy", "degraded", "unhealthy", "healthy"]  # transitions, not samples
    assert CheckResult.objects.filter(check_ref__system=system).count() > len(transitions)


def test_a_missed_heartbeat_fails_its_system_within_period_plus_grace_plus_2_s(processes):
    system = make_checked_system("cron", threshold=1)
    check = make_check(system, name="nightly", kind=CheckKind.HEARTBEAT, interval_seconds=10,
                       heartbeat_grace_seconds=2)
    last_ping = timezone.now()
    Check.objects.filter(pk=check.pk).update(last_ping_at=last_ping, next_run_at=last_ping)  # what a ping writes
    wait_for(lambda: status(system) == "healthy", timeout=10, what="healthy while pinged")

    wait_for(lambda: status(system) == "unhealthy", timeout=20, what="the missed heartbeat")
    failed_at = SystemHealth.objects.get(pk=system.pk).updated_at
    assert failed_at - last_ping <= timedelta(seconds=10 + 2 + 2)
    assert failed_at - last_ping > timedelta(seconds=12)
