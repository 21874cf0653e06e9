"""`for:` dwells: arm once per (automation, trigger, context key), fire at the first deadline if the
trigger's condition held without a break since — decided from the change log, so outages don't matter."""

from datetime import timedelta

from django.db.models import Max
from django.utils import timezone

from ...columns import fit_key, fit_text
from ...definitions import trigger as trigger_definition
from ...definitions import trigger_filter
from ...expressions.evaluate import is_true
from ...models import ChangeEvent, Dwell, Timer
from ..scope import firing_scope
from ..waiting.timers import timer_set, timers_cancel
from ..waiting.waits import automation_locked


def dwell_condition_holds(dwell_trigger: dict, event: str, entity_id: str, state: dict | None) -> bool:
    """Whether the event would still hold given the entity's state after some change."""
    definition = trigger_definition(event)
    if state is None:
        return False
    if definition is not None and definition.holds is not None and not definition.holds(state):
        return False
    condition = trigger_filter(dwell_trigger)
    if condition and definition is not None and definition.payload_from_state is not None:
        payload = definition.payload_from_state(entity_id, state)
        try:
            return is_true(condition, firing_scope(trigger_id=dwell_trigger["id"], event=event, actor="system",
                                                   payload=payload))
        except Exception:  # noqa: BLE001 - any error of the filter: it does not hold (MemoryError included)
            return False
    return True


def event_still_holds(trigger: dict, event: str, entity_id: str, state: dict | None) -> bool:
    """Whether an event with a state predicate still holds on the entity's current state (a replayed event:
    the rule dwells break by); an event without a state predicate always does."""
    definition = trigger_definition(event)
    if definition is None or definition.holds is None:
        return True
    return dwell_condition_holds(trigger, event, entity_id, state)


def dwell_arm(firing, seconds: int) -> Dwell:
    """Arm (or keep) the dwell of this firing; an armed dwell keeps its first deadline."""
    change = ChangeEvent.objects.filter(change_id=firing.firing_key).values("id", "occurred_at").first() \
        if firing.firing_key else None
    armed_at = change["occurred_at"] if change else (firing.occurred_at or timezone.now())
    dwell, created = Dwell.objects.get_or_create(
        automation=firing.automation, trigger_id=firing.trigger["id"],
        context_key=fit_key(Dwell, "context_key", firing.context_key or ""),
        defaults=dict(
            event=firing.event, payload=firing.payload, actor=fit_text(Dwell, "actor", firing.actor),
            firing_key=fit_key(Dwell, "firing_key", firing.firing_key or ""),
            depth=firing.depth, armed_at=armed_at,
            armed_after_change=change["id"] if change else (ChangeEvent.objects.aggregate(m=Max("id"))["m"] or 0),
            deadline=armed_at + timedelta(seconds=seconds),
        ),
    )
    if created:
        timer_set(kind=Timer.Kind.DWELL, owner=dwell.pk, due_at=dwell.deadline)
    return dwell


def dwell_trigger(dwell: Dwell) -> dict | None:
    """The dwell's trigger in its automation's current document; None if it is gone."""
    return next((t for t in dwell.automation.document["triggers"] if t["id"] == dwell.trigger_id), None)


def dwell_broken_since_armed(dwell: Dwell) -> bool:
    definition = trigger_definition(dwell.event)
    trigger = dwell_trigger(dwell)
    if trigger is None or definition is None or definition.entity_kind is None:
        return trigger is None
    later = ChangeEvent.objects.filter(kind=definition.entity_kind, entity_id=dwell.context_key,
                                       id__gt=dwell.armed_after_change).order_by("id").values_list("next", flat=True)
    return any(not dwell_condition_holds(trigger, dwell.event, dwell.context_key, state) for state in later)


def dwells_break_on(change) -> int:
    """A change of an entity: drop the armed dwells on it whose condition no longer holds."""
    broken = 0
    for dwell in Dwell.objects.filter(context_key=change.entity_id).select_related("automation"):
        definition = trigger_definition(dwell.event)
        trigger = dwell_trigger(dwell)
        if definition is None or definition.entity_kind != change.kind or trigger is None:
            continue
        if not dwell_condition_holds(trigger, dwell.event, dwell.context_key, change.next):
            # The automation before its dwell, as deleting the automation takes them (waits.py).
            if not automation_locked(dwell.automation_id):
                continue
            timers_cancel(owner=dwell.pk, kinds=[Timer.Kind.DWELL])
            dwell.delete()
            broken += 1
    return broken
