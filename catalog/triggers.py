"""Trigger events automations can start on when a system or its health changes (derived in `entities.py`)."""

from typing import Literal

from pydantic import BaseModel, Field

from automation.definitions import TriggerDefinition, register_trigger

from .entities import BAD_HEALTH
from .models import HealthStatus

Status = Literal[tuple(HealthStatus.values)]


class HealthPayload(BaseModel):
    """Payload of the healthcheck.* events."""

    system_id: str = Field(description="The system's id (also the event's context key).")
    previous_status: Status | None = Field(description="The status before this change; null on a first report.")
    new_status: Status
    message: str = Field(description="The message reported with the status (may be empty).")
    latency_ms: int | None = Field(description="The latency reported with the status, if any.")


class SystemPayload(BaseModel):
    """Payload of the catalog.system_* events."""

    system_id: str = Field(description="The system's id (also the event's context key).")
    name: str = Field(description="The system's name (its last name for a deleted system).")


class ImpactPayload(BaseModel):
    """Payload of catalog.impact_changed."""

    system_id: str = Field(description="The system's id (also the event's context key).")
    previous_status: Status | None = Field(description="The impact status before; null when it was unknown.")
    new_status: Status = Field(description="The system's health as its dependencies now make it.")
    impacted_by: list[str] = Field(
        description="Ids of the systems, sorted, whose health made it worse (empty when its own health decides).")


def impact_payload(system_id: str, state: dict) -> dict:
    """The payload for this impact state (`previous_status` unknown from the state alone, so null)."""
    return {"system_id": system_id, "previous_status": None, "new_status": state.get("status"),
            "impacted_by": list(state.get("impacted_by") or [])}


def health_payload(system_id: str, state: dict) -> dict:
    """The payload a health event would carry for this state.

    The state alone does not say which status it came from, so `previous_status` is null here: a dwell
    whose filter reads `previous_status` is broken by the next health change of its system.
    """
    return {
        "system_id": system_id,
        "previous_status": None,
        "new_status": state.get("status"),
        "message": state.get("message"),
        "latency_ms": state.get("latency_ms"),
    }


def system_payload(system_id: str, state: dict) -> dict:
    return {"system_id": system_id, "name": state.get("name")}


def is_bad(state: dict | None) -> bool:
    """State predicate of healthcheck.system_degraded: the system is still degraded or unhealthy."""
    return state is not None and state.get("status") in BAD_HEALTH


def is_healthy(state: dict | None) -> bool:
    """State predicate of healthcheck.system_healthy: the system is still healthy."""
    return state is not None and state.get("status") == HealthStatus.HEALTHY


def register() -> None:
    health = dict(
        payload_schema=HealthPayload, context_key_field="system_id", entity_kind="health",
        payload_from_state=health_payload,
    )
    register_trigger(TriggerDefinition(
        id="healthcheck.system_health_changed",
        description="A system's health status changed (a first report included, with previous_status null).",
        **health,
    ))
    register_trigger(TriggerDefinition(
        id="healthcheck.system_degraded",
        description="A system's status became degraded or unhealthy.",
        holds=is_bad,
        **health,
    ))
    register_trigger(TriggerDefinition(
        id="healthcheck.system_healthy",
        description="A system's status became healthy again (not on a first report).",
        holds=is_healthy,
        **health,
    ))
    register_trigger(TriggerDefinition(
        id="catalog.impact_changed",
        description="A system's impact status changed: its own health or, through its dependencies, another "
                    "system's (its first value included, with previous_status null).",
        payload_schema=ImpactPayload, context_key_field="system_id", entity_kind="impact",
        payload_from_state=impact_payload,
    ))
    system = dict(
        payload_schema=SystemPayload, context_key_field="system_id", entity_kind="system",
        payload_from_state=system_payload,
    )
    for event, description in [
        ("catalog.system_created", "A system was created."),
        ("catalog.system_updated", "A system's name, description or metadata changed."),
        ("catalog.system_deleted", "A system was deleted."),
    ]:
        register_trigger(TriggerDefinition(id=event, description=description, **system))
