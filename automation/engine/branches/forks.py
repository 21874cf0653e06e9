"""The branches of a `parallel` step: fork, claim, fence, wait, end, join, halt, recover.

A `parallel` step forks its cursor (the run, or an enclosing branch) into one RunBranch row per branch, each
walked by whichever worker claims it, with its own lease and fencing token. Every branch write locks the run
row first, then the branch row: the run row is the run-level fence (a cancel bumps its token, so no branch
starts a step after the cancel commits) and the lock under which the join is decided, so exactly one
branch — the last to end — reopens the cursor that forked them and walks on from the `parallel` step.
"""

from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ...masking import mask
from ...models import (
    OPEN_BRANCH_STATUSES,
    BranchStatus,
    Run,
    RunBranch,
    RunStatus,
    Timer,
)
from ...sql.rows import lock_row
from ..runs.leases import (
    FENCE_FIELDS,
    PARALLEL_OWNER,
    LeaseLost,
    release_to_wait,
    renew_lease,
    take_lease,
)
from ..runs.wakeups import wake_branch

BRANCH_FENCE_FIELDS = ("id", "run_id", "parent_id", "path", "iteration", "status", "fencing_token",
                       "lease_expires_at", "halted")
HALTED_ERROR = "stopped: a sibling branch failed"


class BranchHalted(LeaseLost):
    """A sibling branch failed: this branch starts no new step."""


@dataclass(frozen=True)
class BranchClaim:
    run_id: str
    branch_id: int
    token: int  # the branch's fencing token
    run_token: int  # the run's, at the fork: a cancel changes it
    run: Run | None = field(default=None, compare=False, repr=False)
    branch: RunBranch | None = field(default=None, compare=False, repr=False)
    first_start: bool = False


@dataclass(frozen=True)
class Reopened:
    """Every branch of a fork ended: the cursor that forked them walks on (a run, or a parent branch)."""

    run_id: str
    branch_id: int | None = None


# --- fork ---------------------------------------------------------------------------------------------
def branches_fork(*, cursor, claim, parent: RunBranch | None, run: Run, path: str, iteration: str, count: int,
                  scope: dict) -> None:
    """Inside the cursor's locked transaction: create the branches, park the cursor, send them on commit."""
    cursor.fencing_token += 1  # the forking walker's claim is spent: only the join reopens this cursor
    cursor.lease_owner, cursor.lease_expires_at, cursor.attempts = "", None, 0
    if parent is None:
        cursor.lease_owner = PARALLEL_OWNER  # run_claim leaves a run alone while its branches hold it
        run_token = cursor.fencing_token
    else:
        cursor.status = BranchStatus.FORKED
        run_token = claim.run_token
    cursor.save(update_fields=["fencing_token", "lease_owner", "lease_expires_at", "attempts"]
                + (["status"] if parent is not None else []))
    created = [RunBranch.objects.create(run=run, parent=parent, path=path, iteration=iteration, index=index,
                                        run_token=run_token, scope=mask(scope)) for index in range(count)]
    for branch in created:
        transaction.on_commit(partial(wake_branch, branch.pk), robust=True)


# --- claim and fence ----------------------------------------------------------------------------------
def branch_claim(*, branch_id, resume: bool = False) -> "BranchClaim | Reopened | None":
    """Take the branch's lease if it is free; None when there is nothing to do here now.

    After too many lost attempts the branch fails instead (and may be the last one, which reopens its parent).
    """
    now = timezone.now()
    run_id = RunBranch.objects.filter(pk=branch_id).values_list("run_id", flat=True).first()
    if run_id is None:
        return None
    with transaction.atomic():
        # The run row first, as every branch write does (one lock order, no deadlock between siblings).
        run = (Run.objects.select_for_update(of=("self",)).select_related("automation__run_as")
               .filter(pk=run_id).first())
        branch = RunBranch.objects.select_for_update().filter(pk=branch_id).first()
        if run is None or branch is None or run.is_terminal or run.fencing_token != branch.run_token:
            return None
        if branch.status not in (BranchStatus.PENDING, BranchStatus.RUNNING, BranchStatus.WAITING):
            return None
        if branch.status == BranchStatus.WAITING and not resume:
            return None
        if branch.status == BranchStatus.RUNNING and branch.lease_expires_at and branch.lease_expires_at > now:
            return None  # another worker holds it
        if branch.attempts >= settings.CHECKSTACK_RUN_MAX_ATTEMPTS:
            return _end_locked(run, branch, BranchStatus.FAILED, f"gave up after {branch.attempts} attempts: "
                                                                 "the worker running it was lost each time")
        first_start = branch.status == BranchStatus.PENDING
        take_lease(branch, now)
        if run.status != RunStatus.RUNNING:
            run.status = RunStatus.RUNNING  # a branch runs: so does the run
            run.save(update_fields=["status"])
        return BranchClaim(run_id=str(run.pk), branch_id=branch.pk, token=branch.fencing_token,
                           run_token=branch.run_token, run=run, branch=branch, first_start=first_start)


def _lock_both(claim: BranchClaim, *, renew: bool = False, starting: bool = False) -> tuple[Run, RunBranch]:
    run = lock_row(Run, claim.run_id, fields=FENCE_FIELDS)
    if run is None or run.fencing_token != claim.run_token or run.status not in (RunStatus.RUNNING,
                                                                                  RunStatus.WAITING):
        raise LeaseLost(claim.run_id)  # cancelled (or failed from outside): every branch stops here
    branch = lock_row(RunBranch, claim.branch_id, fields=BRANCH_FENCE_FIELDS)
    if branch is None or branch.fencing_token != claim.token or branch.status != BranchStatus.RUNNING:
        raise LeaseLost(claim.run_id)
    if starting and branch.halted:
        raise BranchHalted(claim.run_id)
    renew_lease(branch, timezone.now(), renew=renew)
    return run, branch


def locked_branch(claim: BranchClaim, *, renew: bool = False, starting: bool = False) -> RunBranch:
    """The branch row, locked (after its run's), if this claim still holds both fences; raises LeaseLost.

    `starting`: a step is about to start; raises BranchHalted if a sibling failed.
    """
    return _lock_both(claim, renew=renew, starting=starting)[1]


# --- wait, end, join ----------------------------------------------------------------------------------
def branch_release_to_wait(*, claim: BranchClaim, park=None) -> Reopened | None:
    """Park the branch in `waiting` (a timer or event resumes it); the run waits once no branch runs."""
    with transaction.atomic():
        run, branch = _lock_both(claim)
        if branch.halted:
            # A sibling failed while this branch's wait was starting: it ends instead of waiting.
            return _end_locked(run, branch, BranchStatus.CANCELLED, HALTED_ERROR)
        if park is not None:
            park()
        release_to_wait(branch, BranchStatus.WAITING)
        _settle_run_status(run)
    return None


def branch_end(*, claim: BranchClaim, status: str, error: str = "", result: dict | None = None) -> Reopened | None:
    """Record how the branch ended; if it was the last of its fork, reopen the cursor that forked it."""
    with transaction.atomic():
        run, branch = _lock_both(claim)
        return _end_locked(run, branch, status, error, result)


def _end_locked(run: Run, branch: RunBranch, status: str, error: str = "",
                result: dict | None = None) -> Reopened | None:
    branch.status = status
    branch.error = mask(error)[:10000]
    branch.result = mask(result or {})
    branch.finished_at = timezone.now()
    branch.lease_owner, branch.lease_expires_at = "", None
    branch.save(update_fields=["status", "error", "result", "finished_at", "lease_owner", "lease_expires_at"])
    siblings = RunBranch.objects.filter(run_id=run.pk, parent_id=branch.parent_id, path=branch.path,
                                        iteration=branch.iteration, status__in=OPEN_BRANCH_STATUSES)
    if status == BranchStatus.FAILED:
        _halt(siblings)
    if siblings.exists():
        _settle_run_status(run)
        return None
    return _reopen(run, branch.parent_id)


def _reopen(run: Run, parent_id) -> Reopened:
    """The join: the cursor that forked becomes claimable at once (a lapsed lease), by this worker first.

    A lapsed lease rather than none: if this worker dies before it claims, the stalled-run sweeper finds it.
    """
    now = timezone.now()
    if parent_id is not None:
        RunBranch.objects.filter(pk=parent_id).update(status=BranchStatus.RUNNING, lease_owner="",
                                                      lease_expires_at=now)
        run.status = RunStatus.RUNNING
        run.save(update_fields=["status"])
        return Reopened(run_id=str(run.pk), branch_id=parent_id)
    run.status, run.lease_owner, run.lease_expires_at = RunStatus.RUNNING, "", now
    run.save(update_fields=["status", "lease_owner", "lease_expires_at"])
    return Reopened(run_id=str(run.pk))


def _halt(open_branches) -> bool:
    """A branch failed: its open siblings start no new step. True if every one of them has ended now.

    A pending or waiting sibling holds no worker: it ends here. A running one ends at its next step. A
    forked one halts its own branches the same way, and ends when they all have.
    """
    ended = True
    for branch in open_branches.select_for_update():
        if branch.status == BranchStatus.FORKED:
            children = RunBranch.objects.filter(parent=branch, status__in=OPEN_BRANCH_STATUSES)
            if not _halt(children):
                branch.halted, ended = True, False
                branch.save(update_fields=["halted"])
                continue
        elif branch.status == BranchStatus.RUNNING:
            branch.halted, ended = True, False
            branch.save(update_fields=["halted"])
            continue
        Timer.objects.filter(owner__in=[str(pk) for pk in branch.waits.values_list("pk", flat=True)],
                             fired_at=None).delete()
        branch.status, branch.error, branch.finished_at = BranchStatus.CANCELLED, HALTED_ERROR, timezone.now()
        branch.lease_owner, branch.lease_expires_at = "", None
        branch.save(update_fields=["status", "error", "finished_at", "lease_owner", "lease_expires_at"])
    return ended


def _settle_run_status(run: Run) -> None:
    """Under the run's lock: `running` while a branch runs (or is about to), `waiting` when all open ones wait."""
    busy = RunBranch.objects.filter(run_id=run.pk, status__in=[BranchStatus.PENDING, BranchStatus.RUNNING]).exists()
    status = RunStatus.RUNNING if busy else RunStatus.WAITING
    if run.status != status:
        run.status = status
        run.save(update_fields=["status"])


def branches_cancel(*, run: Run) -> None:
    """Inside the cancel's transaction (run locked): end every open branch; none is resumed after."""
    RunBranch.objects.filter(run=run, status__in=OPEN_BRANCH_STATUSES).update(
        status=BranchStatus.CANCELLED, lease_owner="", lease_expires_at=None, finished_at=timezone.now())
