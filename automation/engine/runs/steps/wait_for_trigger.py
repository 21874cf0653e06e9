"""`wait_for_trigger`: continue at the next matching trigger event with the run's context key."""

from django.db.models import Max

from ....models import DerivedTriggerEvent, RunStep, StepStatus, Wait
from ...waiting.durations import deadline_after
from ...waiting.trigger_waits import catch_up
from ...waiting.waits import wait_open
from ..outcomes import StepError, Suspend


def _finish(walker, spec, outcome):
    if outcome.get("timed_out"):
        walker.state.resume = {"payload": None}
        walker.state.wait = {"completed": False, "timed_out": True}
        if not spec.get("continue_on_timeout", False):
            raise StepError(f"wait_for_trigger {spec['event']} timed out")
        return {"completed": False, "timed_out": True, "payload": None}
    walker.state.resume = {"payload": outcome.get("payload")}
    walker.state.wait = {"completed": True, "timed_out": False}
    return {"completed": True, "timed_out": False, "payload": outcome.get("payload")}


def execute(walker, step, row: RunStep, repeat):
    spec = step["wait_for_trigger"]
    wait = Wait.objects.filter(run=walker.run, path=row.path, iteration=row.iteration).first()
    if wait is not None and wait.outcome is not None:
        return _finish(walker, spec, wait.outcome)
    deadline = wait.deadline if wait else deadline_after(spec.get("timeout"), walker.scope(repeat=repeat))
    mark = wait.mark if wait else (DerivedTriggerEvent.objects.aggregate(m=Max("id"))["m"] or 0)

    def park():
        parked = wait_open(run=walker.run, branch=walker.branch, path=row.path, iteration=row.iteration,
                           kind=Wait.Kind.TRIGGER,
                           deadline=deadline, event=spec["event"], context_key=walker.run.context_key)
        if parked.mark != mark:
            parked.mark = mark
            parked.save(update_fields=["mark"])
        row.status = StepStatus.WAITING
        row.save(update_fields=["status"])

    def missed() -> bool:
        return catch_up(run_id=walker.run.pk)

    raise Suspend(park=park, missed=missed)


def replay(walker, step, row):
    walker.state.resume = {"payload": row.result.get("payload")}
    walker.state.wait = {"completed": bool(row.result.get("completed")), "timed_out": bool(row.result.get("timed_out"))}
