"""Advance a run: claim it, walk its steps from where it stopped, record how it ended."""

import logging

from ..masking import masking_scope
from ..observability import log_context
from ..models import RunStatus
from .lifecycle import LeaseLost, run_claim, run_finish, run_release_to_wait, runs_woken_here, wake_run
from .waits import wake_run_resume
from .walker import StepError, StopRun, Suspend, Walker

logger = logging.getLogger(__name__)


def run_advance(*, run_id, resume: bool = False) -> str | None:
    """Walk the run as far as it goes now; idempotent (a run held elsewhere or finished is left alone).

    Returns the status this call left the run in, or None when it did nothing.
    """
    with masking_scope(), log_context(run_id=run_id):
        return _advance(run_id=run_id, resume=resume)


def route_and_start(change_id: str) -> None:
    """Route a change event, then advance right here the first run it started or woke.

    The run is committed before it is advanced, so this only saves the round trip through the broker
    (and a worker's pick-up) between routing and the run's next step; the other runs it started or woke
    go out as messages to run in parallel elsewhere.
    """
    from ..entities.delivery import route_change_event

    with runs_woken_here() as woken:
        route_change_event(change_id)
    for wake_up in woken[1:]:
        wake_run(wake_up.run_id, resume=wake_up.resume)
    if woken:
        run_advance(run_id=woken[0].run_id, resume=woken[0].resume)


def _advance(*, run_id, resume: bool) -> str | None:
    claim = run_claim(run_id=run_id, resume=resume)
    if claim is None:
        return None
    run = claim.run
    run_as = run.automation.run_as
    if run_as is not None and not run_as.is_active:
        return _finish(claim, RunStatus.FAILED, error=f"run_as user {run_as.get_username()} is inactive")
    walker = Walker(run, claim)
    try:
        walker.walk_steps(run.document.get("actions", []), "actions", "")
    except LeaseLost:
        logger.info("run %s: lease lost (cancelled or taken over); stopping here", run_id)
        return None
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
    return _finish(claim, RunStatus.SUCCEEDED)


def _finish(claim, status, error: str = "", reason: str = "") -> str | None:
    try:
        run_finish(claim=claim, status=status, error=error, reason=reason)
    except LeaseLost:
        return None
    return status
