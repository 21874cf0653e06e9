"""Trigger events automations can start on when a maintenance window changes (derived in `entities.py`)."""

from typing import Literal

from pydantic import BaseModel, Field

from automation.definitions import TriggerDefinition, register_trigger

from .entities import maintenance_payload
from .models import MaintenanceStatus

Status = Literal[tuple(MaintenanceStatus.values)]


class MaintenancePayload(BaseModel):
    """Payload of maintenance.created and maintenance.updated."""

    maintenance_id: str = Field(description="The window's id (also the event's context key).")
    status: Status
    system_ids: list[str] = Field(description="Ids of the systems the window covers, sorted.")
    start_at: str = Field(description="Start, ISO 8601 UTC.")
    end_at: str = Field(description="End, ISO 8601 UTC.")


def register() -> None:
    common = dict(
        payload_schema=MaintenancePayload,
        context_key_field="maintenance_id",
        entity_kind="maintenance",
        payload_from_state=maintenance_payload,
    )
    register_trigger(TriggerDefinition(
        id="maintenance.created", description="A maintenance window was scheduled.", **common
    ))
    register_trigger(TriggerDefinition(
        id="maintenance.updated",
        description="A maintenance window's status, schedule or systems changed (beat starting or completing "
                    "it included).",
        **common,
    ))
