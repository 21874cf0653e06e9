"""A run's life: claim with a lease and fencing token (leases.py), fence each write, cancel, finish, start
the next queued run of its bucket.
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ...masking import mask
from ...models import Run, RunStatus
from ...sql.rows import lock_row, update_instance
from ...sql.runs import run_row_insert_fenced
from ...sql.runs import run_succeed_fenced as sql_run_succeed_fenced
from ..branches.forks import branches_cancel
from .leases import (
    FENCE_FIELDS,
    PARALLEL_OWNER,
    Claim,
    LeaseLost,
    lease_seconds,
    release_to_wait,
    renew_lease,
    take_lease,
)
from .wakeups import wake_run

logger = logging.getLogger(__name__)


def _startable(run: Run) -> bool:
    """A pending run may start unless its bucket is queued behind an older or active run."""
    if run.automation.mode != "queued":
        return True
    # One statement, so one snapshot: the run ahead, claimed by another worker meanwhile, is seen either
    # pending or running. Two reads (running? then older pending?) could see it pending in the first and
    # running in the second, miss it in both, and start this run beside it.
    older = Q(created_at__lt=run.created_at) | Q(created_at=run.created_at, pk__lt=run.pk)
    ahead = Run.objects.filter(bucket=run.bucket).exclude(pk=run.pk).filter(
        Q(status__in=[RunStatus.RUNNING, RunStatus.WAITING]) | Q(older, status=RunStatus.PENDING))
    return not ahead.exists()


def run_claim(*, run_id, resume: bool = False) -> Claim | None:
    """Take the run's lease if it is free; None when there is nothing to do here now.

    `resume`: a waiting run whose wait resolved may be claimed too.
    """
    with transaction.atomic():
        run = (Run.objects.select_for_update(of=("self",)).select_related("automation__run_as")
               .filter(pk=run_id).first())
        if run is None or run.is_terminal or run.lease_owner == PARALLEL_OWNER:
            return None  # (a forked run is reopened by its last branch to end, never claimed)
        if run.status == RunStatus.WAITING and not resume:
            return None
        if run.status == RunStatus.RUNNING and run.lease_expires_at and run.lease_expires_at > timezone.now():
            return None  # another worker holds it
        if run.status == RunStatus.PENDING and not _startable(run):
            return None
        if run.attempts >= settings.CHECKSTACK_RUN_MAX_ATTEMPTS:
            finish_locked(run, RunStatus.FAILED,
                           f"gave up after {run.attempts} attempts: the worker running it was lost each time")
            return None
        first_start = run.status == RunStatus.PENDING
        # The clock is read after the bucket was seen free, not before the lock wait: a queued run's start
        # then follows the end of the run ahead of it (that end committed before _startable looked).
        take_lease(run, timezone.now())
        return Claim(run_id=str(run.pk), token=run.fencing_token, run=run, first_start=first_start)


def locked_run(claim: Claim, *, renew: bool = False) -> Run:
    """The run row, locked, if this claim still holds it; raises LeaseLost otherwise.

    Renews the lease once less than half of it is left: often enough that a live worker never loses it,
    without an UPDATE on every step write. `renew`: renew it in full now (before an outside call).
    """
    # Only what the fence and the callers' writes need: the run's documents stay unread on every step.
    run = lock_row(Run, claim.run_id, fields=FENCE_FIELDS)
    if run is None or run.fencing_token != claim.token or run.status != RunStatus.RUNNING:
        raise LeaseLost(claim.run_id)
    renew_lease(run, timezone.now(), renew=renew)
    return run


def insert_fenced(claim: Claim, row) -> bool:
    """Insert `row` (a new row of this run's) in one statement, fenced as locked_run fences, if the claim
    holds the run with more than half of its lease left; False otherwise, with nothing written (the caller
    then takes locked_run's path: it renews the lease or raises LeaseLost).

    Out of a transaction the statement is its own, so a step starts in one round trip instead of four
    (its commit's durability: automation.sql.runs.run_row_insert_fenced).
    """
    return run_row_insert_fenced(row=row, run_id=claim.run_id, token=claim.token,
                                 lease_after=timezone.now() + timedelta(seconds=lease_seconds() / 2))


def finish_locked(run: Run, status: str, error: str = "", reason: str = "", *, wake_bucket: bool = True) -> None:
    """End the run whose row this transaction holds locked (read with at least FENCE_FIELDS).

    `wake_bucket=False`: its automation is not in `queued` mode, so no pending run waits on this one (a
    run left pending by an earlier queued mode is re-sent by recover_stalled_runs).
    """
    run.status = status
    run.error = mask(error)[:10000]
    run.reason = mask(reason or error)[:500]
    run.finished_at = timezone.now()
    run.lease_owner = ""
    run.lease_expires_at = None
    update_instance(run, ("status", "error", "reason", "finished_at", "lease_owner", "lease_expires_at"))
    if wake_bucket:
        transaction.on_commit(partial(_wake_bucket, run.bucket), robust=True)


def run_succeed_fenced(claim: Claim, *, wake_bucket: bool, step=None) -> None:
    """End the run as succeeded if this claim still holds it (LeaseLost otherwise), in one UPDATE that is
    also the fence and the row lock (locked_run and finish_locked at once), in the caller's transaction if
    any. `wake_bucket`: as in finish_locked. `step`: its last step's row, whose outcome is written with it."""
    bucket = sql_run_succeed_fenced(run_id=claim.run_id, token=claim.token, finished_at=timezone.now(), step=step)
    if bucket is None:
        raise LeaseLost(claim.run_id)
    if wake_bucket:
        transaction.on_commit(partial(_wake_bucket, bucket), robust=True)


def run_finish(*, claim: Claim, status: str, error: str = "", reason: str = "") -> None:
    with transaction.atomic():
        run = locked_run(claim)
        finish_locked(run, status, error, reason)


def run_release_to_wait(*, claim: Claim, park=None) -> None:
    """Park a running run in `waiting` and free its lease (a timer or event resumes it)."""
    with transaction.atomic():
        run = locked_run(claim)
        if park is not None:
            park()
        release_to_wait(run, RunStatus.WAITING)


def run_cancel(*, run: Run, reason: str = "cancelled") -> bool:
    """Cancel a run; idempotent. The run starts no step after this commits. True if it changed."""
    return _end_from_outside(run.pk, RunStatus.CANCELLED, reason=reason)


def run_fail_from_outside(*, run_id, error: str) -> bool:
    """Fail a run no worker is walking (what it waited on can never end); idempotent. True if it changed."""
    return _end_from_outside(run_id, RunStatus.FAILED, error=error)


def _end_from_outside(run_id, status: str, *, error: str = "", reason: str = "") -> bool:
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.is_terminal:
            return False
        finish_locked(run, status, error, reason)
        # Bump the token so a worker inside a step cannot write the run's outcome afterwards: its branches'
        # writes check the same token, so none of them starts a step after this commits either.
        run.fencing_token += 1
        run.save(update_fields=["fencing_token"])
        branches_cancel(run=run)
    return True


def _wake_bucket(bucket: str) -> None:
    """When a run ends, start the oldest pending run of its bucket (queued mode)."""
    nxt = (
        Run.objects.filter(bucket=bucket, status=RunStatus.PENDING).order_by("created_at", "pk")
        .values_list("pk", flat=True)
    ).first()
    if nxt is not None:
        wake_run(nxt)
