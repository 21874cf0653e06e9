"""Advance a run: claim it, walk its steps from where it stopped, record how it ended."""

import logging

from django.db import connection

from foundation.log_context import log_context

from ...entities.delivery import route_change_event
from ...masking import masking_scope
from ...models import RunStatus
from .claims import run_claim, run_finish, run_release_to_wait
from .leases import Claim, LeaseLost
from .outcomes import Forked, StepError, StopRun, Suspend
from .wakeups import runs_woken_here, wake_run, wake_run_resume
from .walker import Walker

logger = logging.getLogger(__name__)


def run_advance(*, run_id, resume: bool = False, claim: Claim | None = None) -> str | None:
    """Walk the run as far as it goes now; idempotent (a run held elsewhere or finished is left alone).

    `claim`: the run was created claimed by this worker (lifecycle.claim_on_create); walk it under that.
    Returns the status this call left the run in, or None when it did nothing.
    """
    with masking_scope(), log_context(run_id=run_id):
        return _advance(run_id=run_id, resume=resume, claim=claim)


def route_and_start(change_id: str) -> None:
    """Route a change event, then advance right here the first run it started or woke.

    The run is committed before it is advanced, so this only saves the round trip through the broker
    (and a worker's pick-up) between routing and the run's next step, and, for a new run, its claim:
    the first startable run is created claimed by this worker. The other runs it started or woke go out
    as messages to run in parallel elsewhere.
    """
    # Inside a caller's transaction the commit hooks would run after this block: claim nothing then.
    with runs_woken_here(claim_first=not connection.in_atomic_block) as woken:
        route_change_event(change_id)
    here = next((w for w in woken if w.claim is not None), woken[0] if woken else None)
    for wake_up in woken:
        if wake_up is not here:
            wake_run(wake_up.run_id, resume=wake_up.resume)
    if here is not None:
        run_advance(run_id=here.run_id, resume=here.resume, claim=here.claim)


NO_RUN_AS = "the automation has no run_as user, so it cannot run; save it with one"


def _advance(*, run_id, resume: bool, claim: Claim | None) -> str | None:
    claim = claim or run_claim(run_id=run_id, resume=resume)
    if claim is None:
        return None
    run = claim.run
    run_as = run.automation.run_as
    if run_as is None:  # nobody whose permissions its actions could be checked against: never run unchecked
        return _finish(claim, RunStatus.FAILED, error=NO_RUN_AS)
    if not run_as.is_active:
        return _finish(claim, RunStatus.FAILED, error=f"run_as user {run_as.get_username()} is inactive")
    walker = Walker(run, claim)
    try:
        walker.walk_steps(run.document.get("actions", []), "actions", "")
    except LeaseLost:
        logger.info("run %s: lease lost (cancelled or taken over); stopping here", run_id)
        return None
    except Forked:
        return RunStatus.RUNNING  # its branches go on; the last one to end walks on from the `parallel`
    except Suspend as suspend:
        run_release_to_wait(claim=claim, park=suspend.park)
        if suspend.missed is not None and suspend.missed():
            wake_run_resume(run.pk)
        return RunStatus.WAITING
    except StopRun as stop:
        status = RunStatus.FAILED if stop.failed else RunStatus.SUCCEEDED
        return _finish(claim, status, error=stop.reason if stop.failed else "", reason=stop.reason)
    except StepError as exc:
        return _finish(claim, RunStatus.FAILED, error=str(exc))
    if walker.finished:
        return RunStatus.SUCCEEDED  # its last action's transaction ended it
    return _finish(claim, RunStatus.SUCCEEDED)


def _finish(claim, status, error: str = "", reason: str = "") -> str | None:
    try:
        run_finish(claim=claim, status=status, error=error, reason=reason)
    except LeaseLost:
        return None
    return status
