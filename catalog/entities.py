"""The `system`, `health`, `group` and `impact` entity kinds, their change derivers and payloads."""

from automation.entities.registry import Change, DerivedEvent, EntityKind, register_deriver, register_entity_kind

from .models import Group, HealthStatus, System, SystemHealth, SystemImpact

BAD_HEALTH = {HealthStatus.DEGRADED, HealthStatus.UNHEALTHY}


def system_state(system: System) -> dict:
    return {"name": system.name, "description": system.description, "metadata": system.metadata,
            "group_id": None if system.group_id is None else str(system.group_id)}


def health_state(health: SystemHealth) -> dict:
    return {"status": health.status, "message": health.message, "latency_ms": health.latency_ms}


def group_state(group: Group) -> dict:
    return {"name": group.name, "description": group.description, "position": group.position}


def impact_state(impact: SystemImpact) -> dict:
    return {"status": impact.status, "impacted_by": list(impact.impacted_by)}


def derive_system_events(change: Change) -> list[DerivedEvent]:
    """catalog.system_created / _updated / _deleted, payload {system_id, name}."""
    if change.is_create:
        event = "catalog.system_created"
    elif change.is_delete:
        event = "catalog.system_deleted"
    else:
        event = "catalog.system_updated"
    state = change.next if change.next is not None else change.prev
    payload = {"system_id": change.entity_id, "name": state.get("name")}
    return [DerivedEvent(event=event, payload=payload, context_key=change.entity_id)]


def derive_health_events(change: Change) -> list[DerivedEvent]:
    """healthcheck.* events: only when the status changed (a first report counts as a change)."""
    if change.next is None or "status" not in change.changed_fields:
        return []
    previous = change.prev["status"] if change.prev else None
    new = change.next["status"]
    payload = {
        "system_id": change.entity_id,
        "previous_status": previous,
        "new_status": new,
        "message": change.next.get("message"),
        "latency_ms": change.next.get("latency_ms"),
    }
    events = ["healthcheck.system_health_changed"]
    # Any status change into a bad status fires, degraded → unhealthy included (from any other status).
    if new in BAD_HEALTH:
        events.append("healthcheck.system_degraded")
    if new == HealthStatus.HEALTHY and previous is not None:
        events.append("healthcheck.system_healthy")
    return [DerivedEvent(event=e, payload=dict(payload), context_key=change.entity_id) for e in events]


def derive_impact_events(change: Change) -> list[DerivedEvent]:
    """catalog.impact_changed: only when the impact status changed (its first value included)."""
    if change.next is None or "status" not in change.changed_fields:
        return []
    payload = {
        "system_id": change.entity_id,
        "previous_status": change.prev["status"] if change.prev else None,
        "new_status": change.next["status"],
        "impacted_by": list(change.next.get("impacted_by") or []),
    }
    return [DerivedEvent(event="catalog.impact_changed", payload=payload, context_key=change.entity_id)]


def register() -> None:
    register_entity_kind(
        EntityKind(
            kind="system",
            model=System,
            state=system_state,
        )
    )
    register_entity_kind(
        EntityKind(
            kind="health",
            model=SystemHealth,
            state=health_state,
        )
    )
    register_entity_kind(EntityKind(kind="group", model=Group, state=group_state))
    register_entity_kind(EntityKind(kind="impact", model=SystemImpact, state=impact_state))
    register_deriver("system", derive_system_events)
    register_deriver("impact", derive_impact_events)
    register_deriver("health", derive_health_events)
