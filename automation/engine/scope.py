"""The expression scope of a firing or a run, built from the trigger event and the run's progress."""

from django.utils import timezone

from ..expressions.scope import build_scope


def context_system_id(payload: dict) -> str | None:
    """The system an event is about: `system_id`, else the first of `system_ids` (or `system_ids` itself when
    a payload carries one id there rather than a list)."""
    if not isinstance(payload, dict):
        return None
    if payload.get("system_id"):
        return str(payload["system_id"])
    ids = payload.get("system_ids")
    if isinstance(ids, (list, tuple)):
        return str(ids[0]) if ids else None
    return str(ids) if ids not in (None, "") else None


def trigger_scope(*, trigger_id: str, event: str, actor: str, payload: dict) -> dict:
    return {"id": trigger_id, "event": event, "actor": actor, "payload": payload}


def firing_scope(*, trigger_id: str, event: str, actor: str, payload: dict, reads=None) -> dict:
    """Scope for filters and conditions, before any run exists."""
    return build_scope(
        trigger=trigger_scope(trigger_id=trigger_id, event=event, actor=actor, payload=payload),
        variables={},
        artifacts={},
        now=timezone.now(),
        context_system_id=context_system_id(payload),
        reads=reads,
    )
