"""The `maintenance` entity kind, its change deriver and payload, and its reaction to deleted systems."""

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
from automation.entities.values import id_list, iso_utc

from .models import MaintenanceSystem, MaintenanceWindow
from .services import maintenance_remove_system

TRACKED_FIELDS = ("status", "system_ids", "start_at", "end_at")


def maintenance_state(window: MaintenanceWindow) -> dict:
    # Read from the link rows, not `window.systems`: a link to a just-deleted system must stay in the state
    # until the subscriber removes it, so that removal is a recorded change.
    system_ids = MaintenanceSystem.objects.filter(window_id=window.pk).values_list("system_id", flat=True)
    return {
        "status": window.status,
        "system_ids": id_list(system_ids),
        "start_at": iso_utc(window.start_at),
        "end_at": iso_utc(window.end_at),
    }


def maintenance_describe(window: MaintenanceWindow) -> dict:
    return {"title": window.title}


def maintenance_payload(maintenance_id: str, state: dict) -> dict:
    """Payload of `maintenance.created` / `maintenance.updated` from a window's tracked state."""
    return {"maintenance_id": maintenance_id, **{name: state.get(name) for name in TRACKED_FIELDS}}


def derive_maintenance_events(change: Change) -> list[DerivedEvent]:
    """maintenance.created on create, maintenance.updated on any other change; nothing for a tombstone."""
    if change.is_delete:
        return []
    event = "maintenance.created" if change.is_create else "maintenance.updated"
    payload = maintenance_payload(change.entity_id, change.next)
    return [DerivedEvent(event=event, payload=payload, context_key=change.entity_id)]


def drop_deleted_system(change: Change) -> None:
    """On a system's tombstone, remove it from every window still covering it (idempotent)."""
    if not change.is_delete:
        return
    window_ids = MaintenanceSystem.objects.filter(system_id=change.entity_id).values_list("window_id", flat=True)
    # In id order, so two handlers of different systems lock shared windows in the same order.
    for window in MaintenanceWindow.objects.filter(pk__in=list(window_ids)).order_by("pk"):
        maintenance_remove_system(window=window, system_id=change.entity_id, actor=SYSTEM_ACTOR)


def register() -> None:
    register_entity_kind(
        EntityKind(
            kind="maintenance",
            model=MaintenanceWindow,
            state=maintenance_state,
            describe=maintenance_describe,
        )
    )
    register_deriver("maintenance", derive_maintenance_events)
    subscribe("system", drop_deleted_system, name="maintenance.drop_deleted_system", delivery=Delivery.WORK_QUEUE,
              wants=is_tombstone)
