"""Automation actions on incidents, and the `incident` artifact they hand from step to step.

Writes go through the incident services with the run's actor, so they are tracked like any other write.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field

from automation.action_targets import ActionTarget, validation_message
from automation.definitions import (
    ActionContext,
    ActionDefinition,
    ActionOutcome,
    ArtifactType,
    register_action,
    register_artifact_type,
)
from automation.sql.locks import advisory_lock

from .entities import incident_state
from .models import Incident
from .selectors import incidents_open
from .services import incident_add_update, incident_create, incident_resolve
from .triggers import Severity, Status

ARTIFACT = "incident"
NO_TARGET = "No incident_id given and no upstream incident artifact found"
TARGET = ActionTarget(model=Incident, artifact=ARTIFACT, id_field="incident_id", label="Incident", no_target=NO_TARGET)


class IncidentArtifact(BaseModel):
    incident_id: str
    status: Status
    severity: Severity
    system_ids: list[str]


class CreateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    severity: Severity = "major"
    system_ids: list[str] = Field(min_length=1, description="Systems affected; the first one is the dedupe key.")
    initial_message: str | None = Field(default=None, description="Posted as the first timeline update.")
    suppress_notifications: bool = False
    dedupe_open_for_system: bool = Field(
        default=False,
        description="Reuse an incident already open on the first system instead of opening another.",
    )


class _Targeted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_id: str | None = Field(default=None, description="Defaults to the upstream incident artifact.")


class ResolveConfig(_Targeted):
    message: str | None = Field(default=None, description='Defaults to "Incident resolved".')


class AddUpdateConfig(_Targeted):
    message: str = Field(min_length=1)
    status_change: Status | None = None


class UpdateStatusConfig(_Targeted):
    status: Status
    message: str | None = Field(default=None, description='Defaults to "Status changed to <status>".')


def incident_artifact(incident: Incident) -> dict:
    return {"incident_id": str(incident.pk), **incident_state(incident)}


def _lock_system_for_dedupe(system_id: str) -> None:
    """Serialise dedupe-creates per system until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock keyed by the system, so two runs cannot both see
    "none open" and both create. SQLite needs nothing: its IMMEDIATE transactions hold the write lock.
    """
    advisory_lock(f"incidents.dedupe:{system_id}")  # the same key as before: blake2b of this name


def create(config: CreateConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    fields = config.model_dump(exclude={"dedupe_open_for_system"})
    try:
        with transaction.atomic():  # holds the dedupe lock until the step's transaction ends
            reused = None
            if config.dedupe_open_for_system:
                try:
                    first = str(uuid.UUID(config.system_ids[0]))
                except ValueError:
                    return ActionOutcome.fail(f"system_ids: '{config.system_ids[0]}' is not a valid system id.")
                _lock_system_for_dedupe(first)
                reused = incidents_open().filter(system_links__system_id=first).first()
            incident = reused or incident_create(**fields, actor=context.actor)
    except ValidationError as exc:
        return ActionOutcome.fail(validation_message(exc))
    return ActionOutcome.ok(
        result={"incident_id": str(incident.pk), "reused": reused is not None},
        artifact=incident_artifact(incident),
    )


def resolve(config: ResolveConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    def write(incident):
        resolved = incident_resolve(incident=incident, message=config.message or None, actor=context.actor)
        return ActionOutcome.ok(result={"incident_id": str(resolved.pk), "status": resolved.status})

    return TARGET.on_target(config, consumed, write)


def _post(incident: Incident | str, *, message: str, status_change: str | None, actor: str) -> ActionOutcome:
    def write(incident):
        update = incident_add_update(incident=incident, message=message, status_change=status_change, actor=actor)
        return ActionOutcome.ok(result={
            "incident_id": str(incident.pk), "update_id": str(update.pk), "status": update.incident.status,
        })

    return TARGET.act(incident, write)


def add_update(config: AddUpdateConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    return _post(TARGET.resolve(config.incident_id, consumed), message=config.message,
                 status_change=config.status_change, actor=context.actor)


def update_status(config: UpdateStatusConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    return _post(TARGET.resolve(config.incident_id, consumed),
                 message=config.message or f"Status changed to {config.status}", status_change=config.status,
                 actor=context.actor)


class AnnounceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system_ids: list[str] = Field(min_length=1, description="Every open incident affecting one of these gets it.")
    message: str = Field(min_length=1)


def announce(config: AnnounceConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    """Post the same update on every open incident that affects one of the systems (none open: nothing)."""
    try:
        system_ids = [str(uuid.UUID(str(pk))) for pk in config.system_ids]
    except ValueError:
        return ActionOutcome.fail(f"system_ids must be system ids, got {config.system_ids!r}")
    posted = []
    for incident in incidents_open().filter(system_links__system_id__in=system_ids).distinct().order_by("id"):
        outcome = _post(incident, message=config.message, status_change=None, actor=context.actor)
        if not outcome.success:
            return outcome
        posted.append(str(incident.pk))
    return ActionOutcome.ok(result={"incident_ids": posted})


def register() -> None:
    register_artifact_type(ArtifactType(
        id=ARTIFACT,
        description="An incident opened (or reused) by an earlier step: later steps act on it by default.",
        schema=IncidentArtifact,
        id_field="incident_id",
    ))
    change = ("incidents.change_incident",)
    consumes = (ARTIFACT,)
    for definition in [
        ActionDefinition(
            id="incident.create", description="Open an incident (or reuse the one open on the first system).",
            config_schema=CreateConfig, execute=create, produces=ARTIFACT, permissions=("incidents.add_incident",),
        ),
        ActionDefinition(
            id="incident.resolve", description="Resolve an incident, with a closing update.",
            config_schema=ResolveConfig, execute=resolve, consumes=consumes, closes_consumed=True,
            permissions=change,
        ),
        ActionDefinition(
            id="incident.add_update", description="Post an update on an incident, optionally changing its status.",
            config_schema=AddUpdateConfig, execute=add_update, consumes=consumes, permissions=change,
        ),
        ActionDefinition(
            id="incident.add_update_on_open",
            description="Post an update on every open incident affecting any of the given systems.",
            config_schema=AnnounceConfig, execute=announce, permissions=change,
        ),
        ActionDefinition(
            id="incident.update_status", description="Change an incident's status, with an update saying so.",
            config_schema=UpdateStatusConfig, execute=update_status, consumes=consumes, permissions=change,
        ),
    ]:
        register_action(definition)
