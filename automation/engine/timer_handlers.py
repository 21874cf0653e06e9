"""What each kind of timer does when it fires (inside the sweeper's transaction), and when it is given up."""

import logging

from django.utils import timezone

from ..models import Dwell, RunStep, StepStatus, Timer, Wait
from .timers import timers_cancel
from .waits import wait_resolve, waiter_parked, wake_waiter

logger = logging.getLogger(__name__)


def _wait_of(timer: Timer) -> Wait | None:
    if not timer.owner.isdigit():
        return None  # not a wait's timer (nothing to do)
    return Wait.objects.select_related("run", "branch").filter(pk=int(timer.owner), outcome__isnull=True).first()


def delay_over(timer: Timer) -> None:
    wait = _wait_of(timer)
    if wait is not None:
        wait_resolve(wait, {"completed": True, "timed_out": False})


def wait_timed_out(timer: Timer) -> None:
    wait = _wait_of(timer)
    if wait is not None:
        wait_resolve(wait, {"completed": False, "timed_out": True})


def wait_recheck(timer: Timer) -> None:
    """Time alone may have made a wait_until condition true: let the run (or branch) look again."""
    wait = _wait_of(timer)
    if wait is not None and waiter_parked(wait):
        wake_waiter(wait)


def dwell_due(timer: Timer) -> None:
    from .dwells import dwell_fire

    dwell_fire(dwell_id=timer.owner)


HANDLERS = {
    Timer.Kind.RESUME: delay_over,
    Timer.Kind.WAIT_TIMEOUT: wait_timed_out,
    Timer.Kind.WAIT_RECHECK: wait_recheck,
    Timer.Kind.DWELL: dwell_due,
}


def give_up(timer: Timer, reason: str) -> None:
    """The timer's handler failed every attempt: end what was waiting on it, so nothing waits for ever."""
    if timer.kind == Timer.Kind.DWELL:
        # No run exists yet. Dropping the dwell lets the next qualifying event arm a fresh one.
        Dwell.objects.filter(pk=timer.owner).delete()
        logger.error("dwell %s dropped: %s", timer.owner, reason)
        return
    wait = _wait_of(timer)
    if wait is None:
        return  # the wait ended some other way meanwhile
    from .lifecycle import run_fail_from_outside

    timers_cancel(owner=wait.pk)
    RunStep.objects.filter(run_id=wait.run_id, path=wait.path, iteration=wait.iteration,
                           status=StepStatus.WAITING).update(status=StepStatus.FAILED, error=reason[:10000],
                                                             finished_at=timezone.now())
    run_fail_from_outside(run_id=wait.run_id, error=reason)
