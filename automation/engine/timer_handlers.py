"""What each kind of timer does when it fires (inside the sweeper's transaction)."""

from ..models import RunStatus, Timer, Wait
from .waits import wait_resolve, wake_run_resume


def _wait_of(timer: Timer) -> Wait | None:
    if not timer.owner.isdigit():
        return None  # not a wait's timer (nothing to do)
    return Wait.objects.select_related("run").filter(pk=int(timer.owner), outcome__isnull=True).first()


def delay_over(timer: Timer) -> None:
    wait = _wait_of(timer)
    if wait is not None:
        wait_resolve(wait, {"completed": True, "timed_out": False})


def wait_timed_out(timer: Timer) -> None:
    wait = _wait_of(timer)
    if wait is not None:
        wait_resolve(wait, {"completed": False, "timed_out": True})


def wait_recheck(timer: Timer) -> None:
    """Time alone may have made a wait_until condition true: let the run look again."""
    from functools import partial

    from django.db import transaction

    wait = _wait_of(timer)
    if wait is not None and wait.run.status == RunStatus.WAITING:
        transaction.on_commit(partial(wake_run_resume, wait.run_id), robust=True)


def dwell_due(timer: Timer) -> None:
    from .dwells import dwell_fire

    dwell_fire(dwell_id=timer.owner)


HANDLERS = {
    Timer.Kind.RESUME: delay_over,
    Timer.Kind.WAIT_TIMEOUT: wait_timed_out,
    Timer.Kind.WAIT_RECHECK: wait_recheck,
    Timer.Kind.DWELL: dwell_due,
}
