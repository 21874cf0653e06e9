"""A run's life: claim with a lease and fencing token, cancel, finish, start the next queued, recover.

Every write a worker makes for a run first re-reads the run row under lock and checks its fencing token:
a worker that lost its lease (paused, partitioned, presumed dead) can no longer change anything.
"""

import logging
import os
from contextlib import contextmanager
from contextvars import ContextVar
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ..entities.delivery import hold_back, send_wakeup
from ..masking import mask
from ..models import ACTIVE_STATUSES, Run, RunStatus
from ..sql.rows import lock_row, update_instance
from ..sql.runs import run_row_insert_fenced, run_succeed_fenced as sql_run_succeed_fenced

logger = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
# The lease owner of a run parked at a `parallel` step: its branches hold leases of their own (branches.py).
PARALLEL_OWNER = "parallel branches"


class LeaseLost(Exception):
    """This worker no longer holds the run (its lease was taken over, or the run was cancelled)."""


def lease_seconds() -> int:
    return settings.CHECKSTACK_RUN_LEASE_SECONDS


def step_budget_seconds() -> float:
    """How long one step's outside call may take, counted from a full renewal of the lease.

    A quarter of the lease is kept back: for writing the step's outcome, and for the clocks of the worker
    that renewed the lease and of the one that would find it lapsed not agreeing to the second.
    """
    return lease_seconds() * 0.75


# Set inside runs_woken_here(): wake-ups are collected for the caller to act on, not published.
_woken_here: ContextVar["_Collected | None"] = ContextVar("woken_here", default=None)


@dataclass(frozen=True)
class Claim:
    run_id: str
    token: int
    # The run as claimed (with its automation and run_as user), and whether it had never started: a
    # first start has no step rows to replay.
    run: Run | None = field(default=None, compare=False, repr=False)
    first_start: bool = False


@dataclass(frozen=True)
class WakeUp:
    run_id: str
    resume: bool  # a waiting run whose wait ended (resume_run), not a new or stalled one (advance_run)
    # Set for a run created already claimed by this worker (claim_on_create): only this worker may advance it.
    claim: Claim | None = field(default=None, compare=False)


class _Collected(list):
    """The wake-ups collected by runs_woken_here(), and whether a new run may still be claimed on creation."""

    may_claim = False


def wake_run(run_id, *, resume: bool = False, claim: Claim | None = None) -> None:
    """After commit: ask a worker to advance this run (`resume`: continue it after its wait ended)."""
    from .. import tasks

    wake_up = WakeUp(str(run_id), resume, claim)
    collected = _woken_here.get()
    if collected is not None:
        collected.append(wake_up)
        return
    # A run claimed on creation outside a collector cannot happen (claim_on_create says no there); a
    # message for it would only be refused until its lease ran out.
    send_wakeup(tasks.resume_run if resume else tasks.advance_run, wake_up.run_id)


@contextmanager
def runs_woken_here(*, claim_first: bool = False):
    """Collect the run wake-ups (WakeUp) made inside the block (committed runs, ready to advance) instead
    of publishing them; the caller advances them or wakes them itself. Nothing is lost if it cannot: a
    pending run nobody started, or a waiting run whose wait ended, is re-sent by recover_stalled_runs.

    `claim_first`: the first startable run created inside the block is created claimed by this worker
    (see claim_on_create), and the caller must advance it (its WakeUp carries the claim).
    """
    collected = _Collected()
    collected.may_claim = claim_first
    token = _woken_here.set(collected)
    try:
        yield collected
    finally:
        _woken_here.reset(token)


def claim_on_create() -> dict:
    """The fields that create a new run already claimed by this worker, or {} when it is not to be.

    Only once per runs_woken_here(claim_first=True) block: its caller advances that run right after the
    commit, which saves the claim's own transaction. If this worker dies first, the run's lease runs out
    and recover_stalled_runs re-sends it, as for a worker lost during a step.
    """
    collected = _woken_here.get()
    if collected is None or not collected.may_claim:
        return {}
    collected.may_claim = False
    now = timezone.now()
    return dict(status=RunStatus.RUNNING, started_at=now, lease_owner=WORKER_ID,
                lease_expires_at=now + timedelta(seconds=lease_seconds()), fencing_token=1, attempts=1)


def _startable(run: Run) -> bool:
    """A pending run may start unless its bucket is queued behind an older or active run."""
    if run.automation.mode != "queued":
        return True
    ahead = Run.objects.filter(bucket=run.bucket, status__in=ACTIVE_STATUSES).exclude(pk=run.pk)
    return not ahead.filter(status__in=[RunStatus.RUNNING, RunStatus.WAITING]).exists() and not ahead.filter(
        status=RunStatus.PENDING, created_at__lt=run.created_at
    ).exists()


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


def take_lease(row, now) -> None:
    """Make this worker the holder of a run's (or a branch's) lease, under a new fencing token; saves."""
    row.status = RunStatus.RUNNING  # (a branch's `running` is the same word)
    row.started_at = row.started_at or now
    row.lease_owner = WORKER_ID
    row.lease_expires_at = now + timedelta(seconds=lease_seconds())
    row.fencing_token += 1
    row.attempts += 1
    row.resend_after = None  # a wake-up reached a worker: a later stall is re-sent without delay
    update_instance(row, ("status", "started_at", "lease_owner", "lease_expires_at", "fencing_token", "attempts",
                          "resend_after"))


FENCE_FIELDS = ("id", "status", "fencing_token", "lease_expires_at", "bucket")


def locked_run(claim: Claim, *, renew: bool = False) -> Run:
    """The run row, locked, if this claim still holds it; raises LeaseLost otherwise.

    Renews the lease once less than half of it is left: often enough that a live worker never loses it,
    without an UPDATE on every step write. `renew`: renew it in full now (before an outside call).
    """
    # Only what the fence and the callers' writes need: the run's documents stay unread on every step.
    run = lock_row(Run, claim.run_id, fields=FENCE_FIELDS)
    if run is None or run.fencing_token != claim.token or run.status != RunStatus.RUNNING:
        raise LeaseLost(claim.run_id)
    now = timezone.now()
    if renew or run.lease_expires_at is None or run.lease_expires_at - now < timedelta(seconds=lease_seconds() / 2):
        run.lease_expires_at = now + timedelta(seconds=lease_seconds())
        update_instance(run, ("lease_expires_at",))
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


def run_succeed_fenced(claim: Claim, *, wake_bucket: bool) -> None:
    """In the caller's transaction: end the run as succeeded if this claim still holds it (LeaseLost
    otherwise), in one UPDATE that is also the fence and the row lock (locked_run and finish_locked at once).
    `wake_bucket`: as in finish_locked."""
    bucket = sql_run_succeed_fenced(run_id=claim.run_id, token=claim.token, finished_at=timezone.now())
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
        run.status = RunStatus.WAITING
        run.lease_owner = ""
        run.lease_expires_at = None
        run.attempts = 0  # it made progress: crashes before the wait do not count against its future
        run.save(update_fields=["status", "lease_owner", "lease_expires_at", "attempts"])


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
        from .branches import branches_cancel

        branches_cancel(run=run)
    return True


def _wake_bucket(bucket: str) -> None:
    """When a run ends, start the oldest pending run of its bucket (queued mode)."""
    nxt = (
        Run.objects.filter(bucket=bucket, status=RunStatus.PENDING).order_by("created_at").values_list("pk", flat=True)
    ).first()
    if nxt is not None:
        wake_run(nxt)


def recover_stalled_runs(*, limit: int = 200) -> int:
    """Re-send lost wake-ups: running runs whose lease expired, pending runs nobody started, and waiting
    runs whose wait already ended (their resume message was lost). Held back after each re-send."""
    from .. import tasks

    now = timezone.now()
    due = Run.objects.filter(Q(resend_after__isnull=True) | Q(resend_after__lte=now)) \
        .only("id", "created_at", "lease_expires_at").order_by("created_at")
    grace = now - timedelta(seconds=settings.CHECKSTACK_OUTBOX_GRACE_SECONDS)
    ended = ended_waits(grace=grace, of_branches=False)
    # (task, stalled runs, since when each has been stalled)
    stalls = [
        (tasks.advance_run, due.filter(status=RunStatus.RUNNING, lease_expires_at__lt=now), "lease_expires_at"),
        (tasks.advance_run, due.filter(status=RunStatus.PENDING, created_at__lt=grace), "created_at"),
        (tasks.resume_run, due.filter(status=RunStatus.WAITING, pk__in=ended.values("run_id")), "created_at"),
    ]
    from .branches import recover_stalled_branches

    return resend_stalls(Run, stalls, limit=limit, now=now, key=str) + recover_stalled_branches(limit=limit)


def ended_waits(*, grace, of_branches: bool):
    """Waits (of runs, or of branches) that ended a while ago while their step is still parked on them."""
    from ..models import RunStep, Wait

    parked_step = RunStep.objects.filter(run=OuterRef("run"), path=OuterRef("path"), iteration=OuterRef("iteration"),
                                         status="waiting")
    return Wait.objects.filter(outcome__isnull=False, created_at__lt=grace, branch__isnull=not of_branches) \
        .filter(Exists(parked_step))


def resend_stalls(model, stalls, *, limit: int, now, key) -> int:
    """Re-send each (task, stalled rows, since) stall's wake-ups (`key(pk)` the task's argument), then hold
    the rows back; how many were re-sent."""
    resent = 0
    for task, rows, since in stalls:
        woken = [row for row in rows[:limit] if send_wakeup(task, key(row.pk))]
        hold_back(model, woken, since=since, now=now)
        resent += len(woken)
    return resent
