"""Which checks run now: beat claims due checks every second, leases them and queues one run each.

A check's `next_run_at` is its timer row: claiming it (FOR UPDATE SKIP LOCKED, so two beats or a slow
tick never claim one check twice) sets a lease and the next due time in the same UPDATE. While the lease
holds the check is not claimed again, so a run that overruns its interval is never started twice; a run
whose worker died is claimed again once its lease passes. At most CHECKSTACK_CHECKS_MAX_IN_FLIGHT checks hold a
lease at once: a slow fleet of targets queues in the database, not in the broker.

No Celery countdown is used: a check's next run is a row beat reads, whatever its interval.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .models import Check, CheckKind, CheckLocation
from .probes.heartbeat import heartbeat_deadline
from .row_writes import locked_rows_write

# Beyond the probe's own timeout, the time a leased run may wait in the queue and write its result.
LEASE_MARGIN_SECONDS = 30
# The most checks one tick claims: keeps its transaction short; the next tick (a second later) goes on.
CLAIM_BATCH = 500
# First runs of checks never run are spread over their interval, at most this long (a thousand checks
# created at once must not all start in the same second).
FIRST_RUN_SPREAD_SECONDS = 60
# A heartbeat is looked at again this long after its deadline, so a missed ping is seen within ~1-2 s.
HEARTBEAT_SLACK_SECONDS = 0.5


@dataclass(frozen=True)
class Claim:
    check_id: str
    lease: str  # the lease's end (ISO): the run's token, released only if still the check's


def jitter_seconds(interval: int) -> float:
    """Random delay added to each next run: up to 2% of the interval, at most one second."""
    return random.uniform(0, min(1.0, interval * 0.02))


def next_due(check: Check, *, now: datetime) -> datetime:
    """When `check`, claimed at `now` for its run due at `check.next_run_at`, is due next."""
    interval = timedelta(seconds=check.interval_seconds)
    # From the due time, not the claim time, so a late tick does not push every later run back.
    due = check.next_run_at + interval if check.next_run_at and check.next_run_at + interval > now else now + interval
    due += timedelta(seconds=jitter_seconds(check.interval_seconds))
    if check.kind == CheckKind.HEARTBEAT:
        # Looked at right after the ping is due, not a whole period later.
        missed_at = heartbeat_deadline(check) + timedelta(seconds=HEARTBEAT_SLACK_SECONDS)
        if now < missed_at < due:
            return missed_at
    return due


def lease_end(check: Check, *, now: datetime) -> datetime:
    return now + timedelta(seconds=check.timeout_seconds + LEASE_MARGIN_SECONDS)


def central_checks():
    """Checks the central workers run: those with no location (located ones are the probers', locations/)."""
    return Check.objects.filter(~Exists(CheckLocation.objects.filter(check_ref_id=OuterRef("pk"))))


def _spread_first_runs(now: datetime) -> int:
    """Give checks never scheduled a first due time somewhere in their first interval."""
    fresh = list(central_checks().filter(enabled=True, next_run_at__isnull=True)
                 .only("pk", "interval_seconds")[:CLAIM_BATCH])  # index check_due
    for check in fresh:
        offset = random.uniform(0, min(check.interval_seconds, FIRST_RUN_SPREAD_SECONDS))
        check.next_run_at = now + timedelta(seconds=offset)
    # One statement for the batch: a thousand checks enabled at once must not hold the tick for seconds.
    Check.objects.bulk_update(fresh, ["next_run_at"])
    return len(fresh)


def in_flight(*, now: datetime) -> int:
    """Checks holding a lease now (index check_leased)."""
    return Check.objects.filter(lease_until__gt=now).count()


@transaction.atomic
def checks_claim_due(*, now: datetime | None = None) -> list[Claim]:
    """Lease the checks due now (up to the in-flight bound) and set their next due time; the claims made."""
    now = now or timezone.now()
    _spread_first_runs(now)
    room = min(CLAIM_BATCH, settings.CHECKSTACK_CHECKS_MAX_IN_FLIGHT - in_flight(now=now))
    if room <= 0:
        return []
    due = (central_checks().select_for_update(skip_locked=True)  # SQLite ignores it: one writer at a time there
           .filter(enabled=True, next_run_at__lte=now)  # index check_due
           .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
           .order_by("next_run_at")[:room])
    claimed = list(due)
    for check in claimed:
        check.lease_until, check.next_run_at = lease_end(check, now=now), next_due(check, now=now)
    locked_rows_write(Check, claimed, ["lease_until", "next_run_at"])  # the rows are locked: one statement
    return [Claim(str(check.pk), check.lease_until.isoformat()) for check in claimed]


def lease_renew(*, check: Check, lease: str, now: datetime | None = None) -> datetime | None:
    """Start a claimed run of `check`: move its lease to cover the run from now; None when the claim is stale.

    Stale: the lease passed while the message waited (the check may have been claimed again since) or the
    check is gone. Comparing the lease value is the token check: only the claim that set it may start.
    """
    now = now or timezone.now()
    renewed = lease_end(check, now=now)
    started = Check.objects.filter(pk=check.pk, lease_until=datetime.fromisoformat(lease),
                                   lease_until__gt=now).update(lease_until=renewed)
    return renewed if started else None
