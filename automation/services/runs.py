"""Operator actions on runs: run an automation now, cancel a run."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError as PydanticError

from ..definitions import trigger as trigger_definition
from ..engine.firing.firings import Firing
from ..engine.firing.routing import record_firing
from ..engine.runs.claims import run_cancel as _cancel
from ..entities.actor import user_actor
from ..models import Automation, Run
from .permissions import check_can_run

MANUAL_EVENT = "automation.manual"


@transaction.atomic
def run_manual(*, automation: Automation, actor: str, payload: dict | None = None,
               trigger_id: str | None = None) -> Run:
    """Start a run now: bypasses filter, window, dwell, conditions and mode (docs/automations.md, automation.manual)."""
    triggers = automation.document["triggers"]
    trigger = next((t for t in triggers if t["id"] == trigger_id), None) if trigger_id else None
    if trigger_id and trigger is None:
        raise ValueError(f"no trigger {trigger_id!r} in this automation")
    trigger = trigger or {"id": "manual", "event": MANUAL_EVENT}
    payload = payload or {}
    context = payload.get("system_id") or payload.get("incident_id") or payload.get("maintenance_id")
    firing = Firing(automation=automation, trigger=trigger,
                    event=MANUAL_EVENT if trigger_id is None else trigger["event"],
                    payload=payload, context_key=str(context) if context else None, firing_key=None, actor=actor,
                    occurred_at=timezone.now())
    return record_firing(firing)


def automation_run_now(*, automation: Automation, user, trigger_id: str | None = None,
                       payload: dict | None = None) -> Run:
    """Start a run for `user` (API, admin): they need what saving it needs, and the payload must fit the
    trigger's schema. Raises PermissionDenied, or ValidationError with field errors; nothing is written then.
    """
    check_can_run(user=user, automation=automation)
    if automation.run_as_id is None:
        raise ValidationError({"run_as": ["this automation has no run_as user, so it cannot run; save it with one"]})
    payload = payload or {}
    if trigger_id:
        trigger = next((t for t in automation.document["triggers"] if t["id"] == trigger_id), None)
        if trigger is None:
            raise ValidationError({"trigger_id": [f"no trigger {trigger_id!r} in this automation"]})
        if trigger["event"] != MANUAL_EVENT:
            _check_payload(trigger["event"], payload)
    return run_manual(automation=automation, actor=user_actor(user), payload=payload, trigger_id=trigger_id)


def _check_payload(event: str, payload: dict) -> None:
    """The payload as the trigger's event would carry it, or ValidationError naming each bad field."""
    definition = trigger_definition(event)
    if definition is None or definition.payload_schema is None:
        return
    try:
        definition.payload_schema.model_validate(payload)
    except PydanticError as exc:
        errors = {}
        for error in exc.errors():
            key = ".".join(["payload", *(str(part) for part in error["loc"])])
            errors.setdefault(key, []).append(error["msg"])
        raise ValidationError(errors) from None


def run_cancel(*, run: Run, actor: str) -> Run:
    """Cancel a run; idempotent, and a cancelled run never resumes."""
    _cancel(run=run, reason=f"cancelled by {actor}")
    run.refresh_from_db()
    return run


def simulate_change(automation: Automation, *, change_id) -> dict:
    """Simulate the trigger events a stored change event derives (read-only); DoesNotExist if unknown."""
    from ..engine.inspection.simulate import simulate
    from ..entities.delivery import as_change
    from ..entities.registry import derive_events
    from ..models import ChangeEvent

    event = ChangeEvent.objects.get(change_id=change_id)
    # The change's own depth and time, so the loop guard and the window judge it as routing does.
    results = [{"event": d.event, **simulate(automation, event=d.event, payload=d.payload, context_key=d.context_key,
                                             depth=event.depth, at=event.occurred_at)}
               for d in derive_events(as_change(event))]
    return {"change_id": str(change_id), "events": results}
