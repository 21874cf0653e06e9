"""Registered definitions in tests: run an action as the action step does (no run, no walker), and check
the trigger events a routed change derives against their triggers."""

import uuid

from automation.definitions import ActionContext, ActionOutcome, action
from automation.entities.actor import acting_as, run_actor


def run_context(*, step_path: str = "actions.0", iteration: str = "0", depth: int = 1) -> ActionContext:
    run_id = str(uuid.uuid4())
    return ActionContext(run_id=run_id, automation_id=str(uuid.uuid4()), actor=run_actor(run_id),
                         run_as_user_id=None, step_path=step_path, iteration=iteration, depth=depth)


def run_action(action_id: str, config: dict, consumed: dict | None = None,
               context: ActionContext | None = None) -> tuple[ActionOutcome, ActionContext]:
    """Validate `config` with the action's schema and execute it as a run would; returns (outcome, context)."""
    definition = action(action_id)
    context = context or run_context()
    parsed = definition.config_schema.model_validate(config)
    with acting_as(context.actor, depth=context.depth):
        return definition.execute(parsed, consumed or {}, context), context


def routed_trigger_events(change_event) -> list[dict]:
    """Route one committed change and return its derived trigger events, each checked against its trigger.

    Every payload must validate against the trigger's payload schema and round-trip through it unchanged
    (so the schema names every key the deriver sends), and its context key must be the trigger's.
    """
    from automation.definitions import trigger
    from automation.entities.delivery import route_change_event
    from automation.models import DerivedTriggerEvent

    route_change_event(str(change_event.change_id))
    rows = list(DerivedTriggerEvent.objects.filter(change=change_event).order_by("id"))
    for row in rows:
        definition = trigger(row.event)
        assert definition is not None, f"no trigger registered for {row.event}"
        parsed = definition.payload_schema.model_validate(row.payload)
        assert parsed.model_dump(exclude_unset=True) == row.payload, row.event
        assert definition.context_key(row.payload) == row.context_key, row.event
    return [{"event": row.event, "payload": row.payload} for row in rows]
