"""`wait_until`: continue once a condition holds.

Woken only by changes of the entities the condition read at its last evaluation, at the moment time alone
would make it true, and at its timeout.
"""

from datetime import timedelta

from django.db.models import Max, Q
from django.utils import timezone

from ....expressions.evaluate import is_true
from ....expressions.scope import EntityReads
from ....models import ChangeEvent, RunStep, StepStatus, Timer, Wait
from ...waiting.durations import deadline_after
from ...waiting.timers import timer_set, timers_cancel
from ...waiting.waits import wait_open, wait_record_reads, wait_settle
from ..outcomes import StepError, Suspend

# How far ahead, at most, to look for the moment time alone makes the condition true.
HORIZON = timedelta(days=30)


def _holds_at(walker, condition, repeat, at) -> bool:
    return is_true(condition, walker.scope(repeat=repeat, now=at))


def _time_alone_true_at(walker, condition, repeat, now, until):
    """The earliest moment (to the second) the condition holds if no entity changes, or None."""
    step, probe = timedelta(seconds=1), None
    while now + step <= until:
        if _holds_at(walker, condition, repeat, now + step):
            probe = now + step
            break
        step *= 2
    if probe is None:
        return None
    low, high = now + step / 2 if step > timedelta(seconds=1) else now, probe
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if _holds_at(walker, condition, repeat, mid):
            high = mid
        else:
            low = mid
    return high


def execute(walker, step, row: RunStep, repeat):
    spec = step["wait_until"]
    wait = Wait.objects.filter(run=walker.run, path=row.path, iteration=row.iteration).first()
    if wait is not None and wait.outcome is not None and wait.outcome.get("timed_out"):
        walker.state.wait = {"completed": False, "timed_out": True}
        if not spec.get("continue_on_timeout", True):
            raise StepError("wait_until timed out")
        return {"completed": False, "timed_out": True}
    mark = ChangeEvent.objects.aggregate(m=Max("id"))["m"] or 0
    reads = EntityReads()
    now = timezone.now()
    if is_true(spec["condition"], walker.scope(repeat=repeat, reads=reads, now=now)):
        if wait is not None:
            wait_settle(wait, {"completed": True, "timed_out": False})
        walker.state.wait = {"completed": True, "timed_out": False}
        return {"completed": True, "timed_out": False}
    deadline = wait.deadline if wait else deadline_after(spec.get("timeout"), walker.scope(repeat=repeat))
    recheck_at = None
    if reads.time_dependent:
        recheck_at = _time_alone_true_at(walker, spec["condition"], repeat, now, deadline or now + HORIZON)

    def park():
        parked = wait_open(run=walker.run, branch=walker.branch, path=row.path, iteration=row.iteration,
                           kind=Wait.Kind.UNTIL,
                           deadline=deadline)
        parked.mark = mark
        parked.save(update_fields=["mark"])
        wait_record_reads(parked, reads.entities)
        timers_cancel(owner=parked.pk, kinds=[Timer.Kind.WAIT_RECHECK])
        if recheck_at is not None:
            timer_set(kind=Timer.Kind.WAIT_RECHECK, owner=parked.pk, due_at=recheck_at)
        row.status = StepStatus.WAITING
        row.save(update_fields=["status"])

    def missed() -> bool:
        """A read entity changed between the evaluation and the park committing."""
        entities = Q()
        for kind, entity_id in reads.entities:
            entities |= Q(kind=kind, entity_id=str(entity_id))
        return bool(reads.entities) and ChangeEvent.objects.filter(entities, id__gt=mark).exists()

    raise Suspend(park=park, missed=missed)


def replay(walker, step, row):
    walker.state.wait = {"completed": bool(row.result.get("completed")), "timed_out": bool(row.result.get("timed_out"))}
