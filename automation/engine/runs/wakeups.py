"""Wake-ups of runs and branches, published after commit (or collected for the caller to act on).

The tasks they publish are registered here by automation/apps.py: the task module imports the engine, so
the engine never imports it.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from ...entities.delivery import send_wakeup
from ...models import RunStatus
from .leases import WORKER_ID, Claim, lease_seconds

_TASKS: dict = {}


def register_wakeup_tasks(**tasks) -> None:
    """The tasks that advance and resume runs and branches, by role (`advance_run`, `resume_run`, …)."""
    _TASKS.update(tasks)


def wakeup_task(role: str):
    return _TASKS[role]


# Set inside runs_woken_here(): wake-ups are collected for the caller to act on, not published.
_woken_here: ContextVar["_Collected | None"] = ContextVar("woken_here", default=None)


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
    wake_up = WakeUp(str(run_id), resume, claim)
    collected = _woken_here.get()
    if collected is not None:
        collected.append(wake_up)
        return
    # A run claimed on creation outside a collector cannot happen (claim_on_create says no there); a
    # message for it would only be refused until its lease ran out.
    send_wakeup(wakeup_task("resume_run" if resume else "advance_run"), wake_up.run_id)


def wake_run_resume(run_id) -> None:
    """After commit: ask a worker to continue a waiting run."""
    wake_run(run_id, resume=True)


def wake_branch(branch_id, *, resume: bool = False) -> None:
    """After commit: ask a worker to advance this branch (`resume`: its wait ended)."""
    send_wakeup(wakeup_task("resume_branch" if resume else "advance_branch"), int(branch_id))


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
