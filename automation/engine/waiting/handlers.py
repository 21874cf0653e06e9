"""What the waits' timers do when they fire (inside the sweeper's transaction), and when they are given up;
registered by kind in timers.HANDLERS at start-up. (The dwell's timer: dwell_deadlines.py.)"""

import logging

from django.utils import timezone

from ...models import RunStep, StepStatus, Timer, Wait
from ..runs.claims import run_fail_from_outside
from .timers import HANDLERS, timer_kind_register, timers_cancel  # noqa: F401 - HANDLERS: the registry, by kind
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


def register() -> None:
    for kind, fire in ((Timer.Kind.RESUME, delay_over), (Timer.Kind.WAIT_TIMEOUT, wait_timed_out),
                       (Timer.Kind.WAIT_RECHECK, wait_recheck)):
        timer_kind_register(kind, fire=fire, give_up=give_up)


def give_up(timer: Timer, reason: str) -> None:
    """The timer's handler failed every attempt: end what was waiting on it, so nothing waits for ever."""
    wait = _wait_of(timer)
    if wait is None:
        return  # the wait ended some other way meanwhile
    timers_cancel(owner=wait.pk)
    RunStep.objects.filter(run_id=wait.run_id, path=wait.path, iteration=wait.iteration,
                           status=StepStatus.WAITING).update(status=StepStatus.FAILED, error=reason[:10000],
                                                             finished_at=timezone.now())
    run_fail_from_outside(run_id=wait.run_id, error=reason)
