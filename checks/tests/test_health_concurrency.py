"""Two checks of one system finishing together: the second waits for the first, derives from both results,
and the status change is written exactly once (PostgreSQL: real row locks)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from automation.models import Transition
from catalog.models import SystemHealth
from checks.execution import _record
from checks.probes import ProbeOutcome
from testing.lock_waits import backend_pid, wait_until_waiting_on_lock

from .run_support import make_check, make_checked_system

# Row locks are PostgreSQL's (SQLite lets one writer in at a time): these run in the PostgreSQL pass only.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FAILED = ProbeOutcome.failed("HTTP 503", latency_ms=12)
LEASE = timezone.now() + timedelta(days=1)  # not the checks' lease: nothing to release


def statuses(system):
    return list(Transition.objects.filter(kind="health", entity_id=str(system.pk), field="status")
                .order_by("at", "id").values_list("to_value", flat=True))


def test_two_failures_at_once_write_one_transition():
    assert connection.vendor == "postgresql", "run with DATABASE_URL pointing at PostgreSQL"
    system = make_checked_system(threshold=1)
    a, b = make_check(system, name="a"), make_check(system, name="b")
    _record(a, LEASE, timezone.now(), ProbeOutcome(ok=True, latency_ms=5))
    _record(b, LEASE, timezone.now(), ProbeOutcome(ok=True, latency_ms=5))
    assert statuses(system) == ["healthy"]

    other = {}

    def record_b():
        other["pid"] = backend_pid()
        started.set()
        try:
            other["report"] = _record(b, LEASE, timezone.now(), FAILED)
        finally:
            connection.close()

    started = threading.Event()
    with transaction.atomic():  # a's run holds the system's lock until it commits
        first = _record(a, LEASE, timezone.now(), FAILED)
        thread = threading.Thread(target=record_b)
        thread.start()
        started.wait(10)
        wait_until_waiting_on_lock(other["pid"])  # b's run waits for a's, it does not race it
    thread.join(10)

    assert first.health_status == "unhealthy" and other["report"].health_status is None
    assert statuses(system) == ["healthy", "unhealthy"]
    assert SystemHealth.objects.get(pk=system.pk).message == "a: HTTP 503 (1 failures in a row)"


def test_a_recovery_racing_a_failure_is_not_lost():
    assert connection.vendor == "postgresql", "run with DATABASE_URL pointing at PostgreSQL"
    system = make_checked_system(threshold=1)
    a, b = make_check(system, name="a"), make_check(system, name="b")
    _record(a, LEASE, timezone.now(), FAILED)
    _record(b, LEASE, timezone.now(), ProbeOutcome(ok=True, latency_ms=5))
    assert statuses(system) == ["unhealthy"]

    other, started = {}, threading.Event()

    def b_fails_too():
        other["pid"] = backend_pid()
        started.set()
        try:
            other["report"] = _record(b, LEASE, timezone.now(), FAILED)
        finally:
            connection.close()

    with transaction.atomic():  # a recovers while b fails: b must see a's recovery and still say unhealthy
        _record(a, LEASE, timezone.now(), ProbeOutcome(ok=True, latency_ms=5))
        thread = threading.Thread(target=b_fails_too)
        thread.start()
        started.wait(10)
        wait_until_waiting_on_lock(other["pid"])
    thread.join(10)

    # a's recovery made it healthy; b's failure, derived after it, made it unhealthy again: both written.
    assert statuses(system) == ["unhealthy", "healthy", "unhealthy"]
    assert SystemHealth.objects.get(pk=system.pk).message == "b: HTTP 503 (1 failures in a row)"
