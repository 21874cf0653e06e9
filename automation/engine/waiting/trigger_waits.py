"""Runs waiting for a trigger event: match arriving events to them and resume them."""

from django.db.models import Q

from ...expressions.evaluate import is_true
from ...expressions.scope import build_scope
from ...models import DerivedTriggerEvent, Run, RunStep, StepStatus, Wait
from ..runs.step_paths import step_at
from ..scope import context_system_id, trigger_scope
from .waits import parked, wait_resolve


def _run_scope(run: Run, *, event: str, payload: dict) -> dict:
    """A waiting run's own values (trigger, variables, artifacts) plus the arriving `event`."""
    variables = {}
    for result in RunStep.objects.filter(run=run, kind="variables", status=StepStatus.SUCCEEDED).order_by("id") \
            .values_list("result", flat=True):
        variables.update(result.get("variables", {}))
    artifacts = {}
    for artifact in run.artifacts.order_by("id"):
        artifacts.setdefault(artifact.step_id, {})[artifact.type] = artifact.data
    scope = build_scope(
        trigger=trigger_scope(trigger_id=run.trigger_id, event=run.event, actor=run.actor, payload=run.payload),
        variables=variables, artifacts=artifacts, now=None, context_system_id=context_system_id(run.payload),
    )
    scope["event"] = {"event": event, "payload": payload}
    return scope


def _matches(wait: Wait, *, event: str, payload: dict) -> bool:
    condition = step_at(wait.run.document, wait.path)["wait_for_trigger"].get("filter")
    if not condition:
        return True
    try:
        return is_true(condition, _run_scope(wait.run, event=event, payload=payload))
    except Exception:  # noqa: BLE001 - any error of the filter is a miss (MemoryError, RecursionError too)
        return False


def resume_waiting_for(events) -> int:
    """Trigger events arrived (rows with event, context_key, payload): resolve every open wait for one of
    them with the same context key whose filter passes. One query for all the events."""
    by_event = {(row.event, row.context_key): row for row in events}
    if not by_event:
        return 0
    contexts = {context for _, context in by_event}
    same_context = Q(context_key__in=contexts - {None})
    if None in contexts:
        same_context |= Q(context_key__isnull=True)
    waits = Wait.objects.filter(same_context, kind=Wait.Kind.TRIGGER, event__in={event for event, _ in by_event},
                                outcome__isnull=True).filter(parked()).select_related("run")
    resumed = 0
    for wait in waits.order_by("id"):
        row = by_event.get((wait.event, wait.context_key))
        if row is not None and _matches(wait, event=row.event, payload=row.payload):
            resumed += wait_resolve(wait, {"completed": True, "timed_out": False, "payload": row.payload})
    return resumed


def catch_up(*, run_id) -> bool:
    """After parking: did a matching event arrive while the run was parking? Resolve the wait if so."""
    from django.db import transaction

    with transaction.atomic():
        for wait in Wait.objects.filter(run_id=run_id, kind=Wait.Kind.TRIGGER,
                                        outcome__isnull=True).select_related("run"):
            for row in DerivedTriggerEvent.objects.filter(id__gt=wait.mark, event=wait.event,
                                                          context_key=wait.context_key).order_by("id"):
                if _matches(wait, event=row.event, payload=row.payload):
                    return wait_resolve(wait, {"completed": True, "timed_out": False, "payload": row.payload})
    return False
