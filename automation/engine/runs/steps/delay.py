"""`delay`: wait a duration, as a timer row (no Celery countdown), then continue."""

from ....models import RunStep, StepStatus, Timer, Wait
from ...waiting.durations import deadline_after
from ...waiting.waits import wait_open
from ..outcomes import Suspend


def execute(walker, step, row: RunStep, repeat):
    wait = Wait.objects.filter(run=walker.run, path=row.path, iteration=row.iteration).first()
    if wait is not None and wait.outcome is not None:
        return {"waited_until": wait.deadline.isoformat()}
    deadline = wait.deadline if wait else deadline_after(step["delay"], walker.scope(repeat=repeat))

    def park():
        wait_open(run=walker.run, branch=walker.branch, path=row.path, iteration=row.iteration, kind=Wait.Kind.DELAY,
                  deadline=deadline, timeout_kind=Timer.Kind.RESUME)
        row.status = StepStatus.WAITING
        row.save(update_fields=["status"])

    raise Suspend(park=park)
