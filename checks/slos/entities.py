"""The `slo` entity kind, its `slo.status_changed` event, and `health.system.slos` for expressions."""

from typing import Literal

from pydantic import BaseModel, Field

from automation.definitions import TriggerDefinition, register_health_fact, register_trigger
from automation.entities.registry import Change, DerivedEvent, EntityKind, register_deriver, register_entity_kind

from .models import Slo, SloStatus

STATUS_CHANGED = "slo.status_changed"
Status = Literal[tuple(SloStatus.values)]


def slo_state(slo: Slo) -> dict:
    """Tracked: what the evaluation pass writes, and who the objective is. Figures move every minute and are
    read live (API, `health.system.slos`), never tracked."""
    return {"system_id": str(slo.system_id), "name": slo.name, "status": slo.status,
            "budget_band": slo.budget_band}


def slo_payload(slo_id: str, state: dict, previous_status: str | None = None) -> dict:
    return {"slo_id": slo_id, "system_id": state.get("system_id"), "name": state.get("name"),
            "previous_status": previous_status, "new_status": state.get("status"),
            "budget_band": state.get("budget_band")}


def derive_slo_events(change: Change) -> list[DerivedEvent]:
    """slo.status_changed when an existing objective's status moved (a band change alone fires nothing)."""
    if change.is_create or change.is_delete or "status" not in change.changed_fields:
        return []
    payload = slo_payload(change.entity_id, change.next, change.prev.get("status"))
    return [DerivedEvent(event=STATUS_CHANGED, payload=payload, context_key=change.entity_id)]


class SloStatusPayload(BaseModel):
    """Payload of slo.status_changed."""

    slo_id: str = Field(description="The objective's id (also the event's context key).")
    system_id: str = Field(description="The system the objective is about.")
    name: str
    previous_status: Status | None = Field(description="The status before; null when rebuilt from state.")
    new_status: Status
    budget_band: int = Field(description="Error budget left, in whole tens of percent (0 to 100).")


def system_slos(system_id) -> list[dict]:
    from .selectors import slos_of_system

    return slos_of_system(system_id=system_id)


def register() -> None:
    register_entity_kind(EntityKind(kind="slo", model=Slo, state=slo_state))
    register_deriver("slo", derive_slo_events)
    register_trigger(TriggerDefinition(
        id=STATUS_CHANGED,
        description="A service-level objective's status changed between ok, burning and exhausted.",
        payload_schema=SloStatusPayload, context_key_field="slo_id", entity_kind="slo",
        payload_from_state=slo_payload))
    register_health_fact("slos", system_slos)
