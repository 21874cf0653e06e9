"""The `incident` entity kind, its change deriver and payload, and its reaction to deleted systems."""

from automation.entities.actor import SYSTEM_ACTOR
from automation.entities.registry import (
    Change,
    Delivery,
    DerivedEvent,
    EntityKind,
    is_tombstone,
    register_deriver,
    register_entity_kind,
    subscribe,
)
from automation.entities.values import id_list

from .models import Incident, IncidentStatus, IncidentSystem
from .selectors import incidents_with_system
from .services import incident_remove_system

INCIDENT_CREATED = "incident.created"
INCIDENT_UPDATED = "incident.updated"
INCIDENT_RESOLVED = "incident.resolved"


def incident_state(incident: Incident) -> dict:
    # system_ids come from the through table, never a prefetch cache that may predate the write.
    system_ids = IncidentSystem.objects.filter(incident_id=incident.pk).values_list("system_id", flat=True)
    return {"status": incident.status, "severity": incident.severity, "system_ids": id_list(system_ids)}


def incident_describe(incident: Incident) -> dict:
    return {"title": incident.title}


def incident_holds(state: dict | None) -> bool:
    """State predicate of incident.created / incident.updated: the incident is still open."""
    return state is not None and state.get("status") != IncidentStatus.RESOLVED


def derive_incident_events(change: Change) -> list[DerivedEvent]:
    """incident.created / .resolved / .updated, payload {incident_id, system_ids, severity, status}."""
    if change.is_delete:
        return []  # there is no incident.deleted event
    state = change.next
    payload = {
        "incident_id": change.entity_id,
        "system_ids": list(state.get("system_ids") or []),
        "severity": state.get("severity"),
        "status": state.get("status"),
    }
    if change.is_create:
        event = INCIDENT_CREATED
    elif state.get("status") == IncidentStatus.RESOLVED and change.prev.get("status") != IncidentStatus.RESOLVED:
        event = INCIDENT_RESOLVED
    else:
        # Any other change, a reopen included.
        event = INCIDENT_UPDATED
        if "status" in change.changed_fields:
            payload["status_change"] = state.get("status")
    return [DerivedEvent(event=event, payload=payload, context_key=change.entity_id)]


def drop_deleted_system(change: Change) -> None:
    """On a system tombstone, remove the system from every incident; idempotent (may run twice)."""
    if not change.is_delete:
        return
    for incident in incidents_with_system(system_id=change.entity_id):
        incident_remove_system(incident=incident, system_id=change.entity_id, actor=SYSTEM_ACTOR)


def register() -> None:
    register_entity_kind(
        EntityKind(
            kind="incident",
            model=Incident,
            state=incident_state,
            describe=incident_describe,
        )
    )
    register_deriver("incident", derive_incident_events)
    subscribe("system", drop_deleted_system, name="incidents.drop_deleted_system", delivery=Delivery.WORK_QUEUE,
              wants=is_tombstone)
