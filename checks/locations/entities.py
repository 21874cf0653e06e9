"""The `location` entity kind and its triggers `location.offline` / `location.online`."""

from pydantic import BaseModel, Field

from automation.definitions import TriggerDefinition, register_trigger
from automation.entities.registry import Change, DerivedEvent, EntityKind, register_deriver, register_entity_kind

from ..models import Location, LocationStatus


def location_state(location: Location) -> dict:
    # last_seen_at is left out on purpose: a heartbeat every 10 s is not a change worth an event.
    return {"name": location.name, "description": location.description, "status": location.status}


def derive_location_events(change: Change) -> list[DerivedEvent]:
    """location.online / location.offline: when the status changed (not on creation: new ones are offline)."""
    if change.is_create or change.next is None or "status" not in change.changed_fields:
        return []
    status = change.next["status"]
    payload = location_payload(change.entity_id, change.next)
    return [DerivedEvent(event=f"location.{status}", payload=payload, context_key=change.entity_id)]


class LocationPayload(BaseModel):
    """Payload of the location.* events."""

    location_id: str = Field(description="The location's id (also the event's context key).")
    name: str = Field(description="The location's name.")
    status: str = Field(description="online or offline.")


def location_payload(location_id: str, state: dict) -> dict:
    return {"location_id": location_id, "name": state.get("name"), "status": state.get("status")}


def register() -> None:
    register_entity_kind(EntityKind(kind="location", model=Location, state=location_state))
    register_deriver("location", derive_location_events)
    for status, description in [
        (LocationStatus.OFFLINE, "A check location's prober stopped heartbeating "
                                 "(CHECKSTACK_PROBER_OFFLINE_SECONDS without one)."),
        (LocationStatus.ONLINE, "A check location's prober heartbeats again (its first heartbeat included)."),
    ]:
        register_trigger(TriggerDefinition(
            id=f"location.{status}", description=description, payload_schema=LocationPayload,
            context_key_field="location_id", entity_kind="location", payload_from_state=location_payload,
            holds=lambda state, status=status: state is not None and state.get("status") == status,
        ))
