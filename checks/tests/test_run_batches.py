"""A batch of claimed checks in one worker process: probed concurrently but never more at once than its pool,
recorded together, and fenced by the leases the batch renewed."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import Transition
from checks.models import Check, CheckResult
from checks.run_batches import checks_execute, leases_renew
from checks.scheduling import checks_claim_due

from .run_support import make_check, make_checked_system
from .servers import HttpTarget

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


class CountingTarget(HttpTarget):
    """An HttpTarget that also records the most requests it held at once."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.now, self.most, self._count_lock = 0, 0, threading.Lock()
        handler = self.server.RequestHandlerClass
        target = self
        answer = handler._answer

        def counted(self_, with_body):
            with target._count_lock:
                target.now += 1
                target.most = max(target.most, target.now)
            try:
                answer(self_, with_body)
            finally:
                with target._count_lock:
                    target.now -= 1

        handler._answer = counted


@pytest.fixture
def pool_of_four(settings):
    import checks.run_batches as run_batches

    settings.CHECKSTACK_CHECKS_PROBE_THREADS = 4
    run_batches._pool = None  # the pool is sized on first use
    yield
    if run_batches._pool is not None:
        run_batches._pool.shutdown()
    run_batches._pool = None


def _claim_all(checks):
    Check.objects.filter(pk__in=[c.pk for c in checks]).update(next_run_at=timezone.now() - timedelta(seconds=1))
    return checks_claim_due()


def test_a_batch_is_probed_concurrently_but_never_beyond_the_pool(pool_of_four):
    system = make_checked_system()
    with CountingTarget(delay=0.3) as server:
        checks = [make_check(system, name=f"c{n}", url=f"{server.url}/{n}") for n in range(12)]
        reports = checks_execute(claims=_claim_all(checks))

    assert server.most == 4  # four at once (the pool), not twelve and not one
    assert len(server.requests) == 12 and len(reports) == 12
    assert sorted(CheckResult.objects.values_list("check_ref_id", "ok")) == sorted((c.pk, True) for c in checks)
    assert set(Check.objects.values_list("lease_until", "last_ok", "consecutive_failures")) == {(None, True, 0)}
    assert {r.health_status for r in reports} == {"healthy"}  # their system's status, written once for all twelve
    assert list(Transition.objects.filter(kind="health", field="status").values_list("to_value", flat=True)) == [
        "healthy"]


def test_stale_and_redelivered_claims_in_a_batch_start_nothing(pool_of_four):
    system = make_checked_system()
    with CountingTarget() as server:
        fresh, lapsed = (make_check(system, name=n, url=server.url) for n in ("fresh", "lapsed"))
        claims = _claim_all([fresh, lapsed])
        Check.objects.filter(pk=lapsed.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
        first = checks_execute(claims=claims)
        again = checks_execute(claims=claims)  # the same message delivered twice

    assert [r.result.check_ref_id for r in first] == [fresh.pk] and again == []
    assert len(server.requests) == 1 and CheckResult.objects.count() == 1


def test_a_result_whose_lease_was_taken_over_meanwhile_is_not_recorded(pool_of_four):
    from checks.probes import ProbeOutcome
    from checks.run_batches import Run, runs_record

    system = make_checked_system()
    check = make_check(system, url="http://127.0.0.1:1/")
    [(started, lease)] = leases_renew(claims=_claim_all([check]), now=timezone.now())
    # The run froze past its lease; beat claimed the check again for another worker.
    Check.objects.filter(pk=check.pk).update(lease_until=lease + timedelta(minutes=5))

    reports = runs_record(runs=[Run(started, lease, timezone.now(), ProbeOutcome(ok=True, latency_ms=3))])

    assert reports == [] and not CheckResult.objects.exists()
    assert Check.objects.get(pk=check.pk).lease_until == lease + timedelta(minutes=5)  # the newer claim's, kept
