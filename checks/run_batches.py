"""A batch of claimed checks run by one worker process: leases renewed together, probes run concurrently in a
bounded thread pool, results recorded together in one transaction (checks/results.py: results_record).

The probes wait on the network, not the CPU: CHECKSTACK_CHECKS_PROBE_THREADS threads per worker process run
them (a batch larger than the pool queues inside it), so one process keeps hundreds of checks a second going
while its database work stays a fixed number of statements per batch.

Fenced like a single run (checks/execution.py), and more strictly: a claim starts only while its lease is the
check's (a redelivered or stale message starts nothing), and a result is recorded only while the lease this
batch renewed is still the check's. A worker that dies or freezes mid-batch leaves its leases to pass; beat
then claims the checks again and another worker runs them, and the frozen worker's results, should it wake,
find a newer lease and are dropped: no due run is lost and none is recorded twice.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from catalog.models import System

from .execution import RunReport, probe_masked
from .health import systems_health_follow
from .models import Check
from .probes import ProbeOutcome
from .results import ResultIn, results_record
from .row_writes import locked_rows_write
from .scheduling import Claim, lease_end

logger = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class Run:
    check: Check
    lease: datetime  # the lease this batch renewed: the fence of its result
    at: datetime
    outcome: ProbeOutcome


def probe_pool() -> ThreadPoolExecutor:
    """The process's probe threads (created on first use: after the prefork, in the child)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=settings.CHECKSTACK_CHECKS_PROBE_THREADS, thread_name_prefix="probe")
    return _pool


@transaction.atomic
def leases_renew(*, claims: list[Claim], now: datetime) -> list[tuple[Check, datetime]]:
    """Start the claims still current: each lease moved to cover the run from now; (check, lease) of each."""
    leases = {claim.check_id: datetime.fromisoformat(claim.lease) for claim in claims}
    # Sorted locks: two batches never wait on each other in a circle.
    checks = list(Check.objects.select_for_update().filter(pk__in=list(leases), lease_until__gt=now).order_by("pk"))
    started = [check for check in checks if check.lease_until == leases[str(check.pk)]]
    for check in started:
        check.lease_until = lease_end(check, now=now)
    locked_rows_write(Check, started, ["lease_until"])
    return [(check, check.lease_until) for check in started]


def _probe(check: Check, lease: datetime) -> Run:
    at = timezone.now()
    try:
        return Run(check, lease, at, probe_masked(check))
    finally:
        connections.close_all()  # this thread's own, if a probe read a secret: never left open in the pool


@transaction.atomic
def runs_record(*, runs: list[Run]) -> list[RunReport]:
    """Record the runs whose lease is still the check's: state, results and health, in one transaction."""
    # The systems first, then the checks: the lock order of every health write (checks/health.py), sorted.
    systems = {s.pk: s for s in System.objects.select_for_update()
               .filter(pk__in={run.check.system_id for run in runs}).order_by("pk")}
    current = {pk: (lease, failures) for pk, lease, failures in Check.objects.select_for_update()
               .filter(pk__in=[run.check.pk for run in runs]).order_by("pk")
               .values_list("pk", "lease_until", "consecutive_failures")}
    kept = [run for run in runs
            if run.check.system_id in systems and current.get(run.check.pk, (None,))[0] == run.lease]
    for run in kept:
        check, outcome = run.check, run.outcome
        check.last_run_at, check.last_ok, check.last_error = run.at, outcome.ok, outcome.error
        check.last_latency_ms, check.lease_until = outcome.latency_ms, None
        check.consecutive_failures = 0 if outcome.ok else current[check.pk][1] + 1
    locked_rows_write(Check, [run.check for run in kept], [
        "last_run_at", "last_ok", "last_error", "last_latency_ms", "consecutive_failures", "lease_until"])
    rows = results_record(results=[
        ResultIn(run.check.pk, run.check.system_id, run.at, run.outcome.ok, run.outcome.latency_ms,
                 run.outcome.error, run.outcome.tls_days_left, run.outcome.value) for run in kept])
    healths = systems_health_follow(systems=[systems[pk] for pk in sorted({run.check.system_id for run in kept})])
    return [RunReport(row, getattr(healths.get(str(run.check.system_id)), "status", None))
            for run, row in zip(kept, rows, strict=True)]


def checks_execute(*, claims: list[Claim]) -> list[RunReport]:
    """Run a batch of claims: the current ones probed concurrently (bounded), recorded together."""
    started = leases_renew(claims=claims, now=timezone.now())
    if not started:
        return []
    runs = list(probe_pool().map(lambda pair: _probe(*pair), started))
    return runs_record(runs=runs)
