"""Scheduling: claims of due checks, leases (no double start), the in-flight bound, jitter and spreading."""

from datetime import timedelta

import pytest
from django.utils import timezone

from checks.models import Check, CheckKind
from checks.scheduling import (
    FIRST_RUN_SPREAD_SECONDS,
    LEASE_MARGIN_SECONDS,
    checks_claim_due,
    jitter_seconds,
    lease_renew,
    next_due,
)
from checks.tasks import schedule_checks

from .run_support import make_check, make_checked_system

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def system():
    return make_checked_system()


def _due(check, now, seconds_ago=1):
    Check.objects.filter(pk=check.pk).update(next_run_at=now - timedelta(seconds=seconds_ago))


def test_a_due_check_is_claimed_once_with_a_lease_and_its_next_due_time(system):
    now = timezone.now()
    check = make_check(system, interval_seconds=30, timeout_seconds=5)
    _due(check, now)
    claims = checks_claim_due(now=now)
    check.refresh_from_db()
    assert [c.check_id for c in claims] == [str(check.pk)]
    assert check.lease_until == now + timedelta(seconds=5 + LEASE_MARGIN_SECONDS)
    assert claims[0].lease == check.lease_until.isoformat()
    due = now - timedelta(seconds=1) + timedelta(seconds=30)
    assert due <= check.next_run_at <= due + timedelta(seconds=0.6)  # from the due time, plus jitter
    assert checks_claim_due(now=now + timedelta(seconds=1)) == []  # leased and not due again


def test_a_check_overrunning_its_interval_is_not_started_twice(system):
    now = timezone.now()
    check = make_check(system, interval_seconds=10, timeout_seconds=60)
    _due(check, now)
    assert len(checks_claim_due(now=now)) == 1
    # Its next due time passes while the run still holds the lease: no second claim.
    assert checks_claim_due(now=now + timedelta(seconds=25)) == []
    # Once the lease passes (the worker died), it is claimed again.
    later = now + timedelta(seconds=60 + LEASE_MARGIN_SECONDS + 1)
    assert [c.check_id for c in checks_claim_due(now=later)] == [str(check.pk)]


def test_disabled_and_future_checks_are_not_claimed(system):
    now = timezone.now()
    disabled = make_check(system, name="off", enabled=False)
    future = make_check(system, name="later")
    _due(disabled, now)
    Check.objects.filter(pk=future.pk).update(next_run_at=now + timedelta(seconds=5))
    assert checks_claim_due(now=now) == []


def test_in_flight_is_bounded(system, settings):
    settings.CHECKSTACK_CHECKS_MAX_IN_FLIGHT = 3
    now = timezone.now()
    checks = [make_check(system, name=f"c{i}") for i in range(5)]
    for i, check in enumerate(checks):
        _due(check, now, seconds_ago=10 - i)
    first = checks_claim_due(now=now)
    assert [c.check_id for c in first] == [str(c.pk) for c in checks[:3]]  # earliest due first
    assert checks_claim_due(now=now) == []  # three in flight: no room
    Check.objects.filter(pk=checks[0].pk).update(lease_until=None)  # one run finished
    assert [c.check_id for c in checks_claim_due(now=now)] == [str(checks[3].pk)]


def test_first_runs_are_spread_over_the_first_interval(system):
    now = timezone.now()
    for i in range(40):
        make_check(system, name=f"c{i}", interval_seconds=30)
    claims = checks_claim_due(now=now)
    firsts = sorted(Check.objects.values_list("next_run_at", flat=True))
    assert all(now <= at <= now + timedelta(seconds=30) for at in firsts)
    assert firsts[-1] - firsts[0] > timedelta(seconds=10)  # spread, not all at once
    assert len(claims) == sum(1 for at in firsts if at <= now)


def test_jitter_is_small_and_varies():
    values = {jitter_seconds(30) for _ in range(50)}
    assert all(0 <= v <= 0.6 for v in values) and len(values) > 1
    assert all(0 <= jitter_seconds(86_400) <= 1.0 for _ in range(50))
    assert FIRST_RUN_SPREAD_SECONDS == 60


def test_a_late_claim_does_not_schedule_into_the_past(system):
    now = timezone.now()
    check = make_check(system, interval_seconds=10)
    check.next_run_at = now - timedelta(seconds=25)
    assert now + timedelta(seconds=10) <= next_due(check, now=now) <= now + timedelta(seconds=10.3)


def test_a_heartbeat_is_looked_at_right_after_its_deadline(system):
    now = timezone.now()
    check = make_check(system, kind=CheckKind.HEARTBEAT, interval_seconds=60, heartbeat_grace_seconds=10)
    check.last_ping_at = now - timedelta(seconds=50)
    check.next_run_at = now
    # Missed at last ping + 70 s = now + 20 s: looked at then, not a whole period later.
    assert next_due(check, now=now) == now + timedelta(seconds=20.5)


def test_a_claim_starts_once_and_a_stale_one_never(system):
    now = timezone.now()
    check = make_check(system, timeout_seconds=5)
    _due(check, now)
    claim = checks_claim_due(now=now)[0]
    renewed = lease_renew(check=check, lease=claim.lease, now=now + timedelta(seconds=1))
    assert renewed == now + timedelta(seconds=1 + 5 + LEASE_MARGIN_SECONDS)
    # The same message delivered again holds a lease that is no longer the check's.
    assert lease_renew(check=check, lease=claim.lease, now=now + timedelta(seconds=2)) is None


def test_a_claim_whose_lease_passed_in_the_queue_does_not_start(system):
    now = timezone.now()
    check = make_check(system, timeout_seconds=5)
    _due(check, now)
    claim = checks_claim_due(now=now)[0]
    assert lease_renew(check=check, lease=claim.lease,
                       now=now + timedelta(seconds=5 + LEASE_MARGIN_SECONDS + 1)) is None


def test_the_beat_task_queues_its_claims_in_batches_on_the_checks_queue(system, django_capture_on_commit_callbacks,
                                                                       settings):
    from checkstack.celery import app

    settings.CHECKSTACK_CHECKS_BATCH = 2
    checks = [make_check(system, name=f"c{n}") for n in range(5)]
    for check in checks:
        _due(check, timezone.now())
    with django_capture_on_commit_callbacks() as callbacks:
        assert schedule_checks() == 5
    batches = [callback.args[0] for callback in callbacks]  # partial(run_checks.delay, batch)
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert sorted(check_id for batch in batches for check_id, _lease in batch) == sorted(str(c.pk) for c in checks)
    for name in ("checkstack.run_checks", "checkstack.run_check"):
        route = app.amqp.router.route({}, name)
        assert route["queue"].name == "checkstack.checks" and route["queue"].exchange.name == "checkstack.checks"
    assert app.amqp.router.route({}, "checkstack.schedule_checks")["queue"].name == "celery"
