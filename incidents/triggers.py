"""Trigger events automations can start on when an incident changes (derived in `entities.py`)."""

from typing import Literal

from pydantic import BaseModel, Field

from automation.definitions import TriggerDefinition, register_trigger

from .entities import INCIDENT_CREATED, INCIDENT_RESOLVED, INCIDENT_UPDATED, incident_holds
from .models import IncidentSeverity, IncidentStatus

Status = Literal[tuple(IncidentStatus.values)]
Severity = Literal[tuple(IncidentSeverity.values)]


class IncidentPayload(BaseModel):
    """Payload of incident.created and incident.resolved."""

    incident_id: str = Field(description="The incident's id (also the event's context key).")
    system_ids: list[str] = Field(description="Ids of the systems the incident affects, sorted.")
    severity: Severity
    status: Status


class IncidentUpdatedPayload(IncidentPayload):
    """Payload of incident.updated."""

    status_change: Status | None = Field(
        default=None, description="The new status, present only when this change moved the status."
    )


def incident_payload(incident_id: str, state: dict) -> dict:
    """The payload an incident event would carry for this tracked state (dwells re-check filters on it)."""
    return {
        "incident_id": incident_id,
        "system_ids": list(state.get("system_ids") or []),
        "severity": state.get("severity"),
        "status": state.get("status"),
    }


def register() -> None:
    common = dict(context_key_field="incident_id", entity_kind="incident", payload_from_state=incident_payload)
    register_trigger(TriggerDefinition(
        id=INCIDENT_CREATED,
        description="An incident was opened.",
        payload_schema=IncidentPayload,
        holds=incident_holds,
        **common,
    ))
    register_trigger(TriggerDefinition(
        id=INCIDENT_UPDATED,
        description="An incident's status, severity or systems changed (a reopen included; a comment alone "
                    "fires nothing).",
        payload_schema=IncidentUpdatedPayload,
        holds=incident_holds,
        **common,
    ))
    register_trigger(TriggerDefinition(
        id=INCIDENT_RESOLVED,
        description="An incident became resolved.",
        payload_schema=IncidentPayload,
        **common,
    ))
