"""Automation actions on maintenance windows, and the `maintenance_window` artifact they hand on.

Writes go through the maintenance services with the run's actor, so they are tracked like any other write.
"""

import uuid
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from automation.action_targets import ActionTarget, validation_message
from automation.definitions import (
    ActionContext,
    ActionDefinition,
    ActionOutcome,
    ArtifactType,
    register_action,
    register_artifact_type,
)
from catalog.models import System

from .entities import maintenance_payload, maintenance_state
from .models import MaintenanceStatus, MaintenanceWindow
from .services import maintenance_add_update, maintenance_close, maintenance_create, maintenance_update
from .triggers import Status

ARTIFACT = "maintenance_window"
NO_TARGET = "No maintenance_id given and no upstream maintenance_window artifact found"
TARGET = ActionTarget(model=MaintenanceWindow, artifact=ARTIFACT, id_field="maintenance_id",
                      label="Maintenance window", no_target=NO_TARGET)
MAX_MINUTES = 30 * 24 * 60


class WindowArtifact(BaseModel):
    maintenance_id: str
    status: Status
    system_ids: list[str]
    start_at: str
    end_at: str


class CreateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    system_ids: list[str] = Field(min_length=1)
    start_at: AwareDatetime
    end_at: AwareDatetime
    suppress_notifications: bool = False

    @model_validator(mode="after")
    def _ends_after_start(self):
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self


class _Targeted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maintenance_id: str | None = Field(default=None, description="Defaults to the upstream maintenance_window.")


class UpdateConfig(_Targeted):
    """Fields left out (or null) stay as they are."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    system_ids: list[str] | None = None
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    suppress_notifications: bool | None = None


class AddUpdateConfig(_Targeted):
    message: str = Field(min_length=1)
    status_change: Status | None = None


class SetSystemConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system_id: str
    duration_minutes: int = Field(ge=1, le=MAX_MINUTES)
    title: str | None = Field(default=None, max_length=200, description='Defaults to "Maintenance of <system>".')
    description: str = ""
    suppress_notifications: bool = False


class ClearSystemConfig(_Targeted):
    message: str | None = Field(default=None, description='Defaults to "Maintenance completed".')


def window_artifact(window: MaintenanceWindow) -> dict:
    return maintenance_payload(str(window.pk), maintenance_state(window))


def _done(window: MaintenanceWindow, *, produced: bool = False, **extra) -> ActionOutcome:
    artifact = window_artifact(window)
    result = {"maintenance_id": artifact["maintenance_id"], "status": artifact["status"], **extra}
    return ActionOutcome.ok(result=result, artifact=artifact if produced else None)


def create(config: CreateConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    try:
        window = maintenance_create(**config.model_dump(), actor=context.actor)
    except ValidationError as exc:
        return ActionOutcome.fail(validation_message(exc))
    return _done(window, produced=True)


def update(config: UpdateConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    fields = config.model_dump(exclude={"maintenance_id"}, exclude_none=True)
    return TARGET.on_target(config, consumed, lambda window: _done(
        maintenance_update(window=window, **fields, actor=context.actor)
    ))


def add_update(config: AddUpdateConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    def write(window):
        posted = maintenance_add_update(window=window, message=config.message, status_change=config.status_change,
                                        actor=context.actor)
        return _done(posted.window, update_id=str(posted.pk))

    return TARGET.on_target(config, consumed, write)


def set_system(config: SetSystemConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    try:
        system = System.objects.get(pk=uuid.UUID(config.system_id))
    except (ValueError, System.DoesNotExist):
        return ActionOutcome.fail(f"System {config.system_id} not found")
    now = timezone.now()
    try:
        window = maintenance_create(
            title=config.title or f"Maintenance of {system.name}"[:200],
            description=config.description,
            system_ids=[system.pk],
            # In progress from now: beat completes it at end_at like any other window.
            status=MaintenanceStatus.IN_PROGRESS,
            start_at=now,
            end_at=now + timedelta(minutes=config.duration_minutes),
            suppress_notifications=config.suppress_notifications,
            actor=context.actor,
        )
    except ValidationError as exc:  # the system was deleted meanwhile
        return ActionOutcome.fail(validation_message(exc))
    return _done(window, produced=True)


def clear_system(config: ClearSystemConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    return TARGET.on_target(config, consumed, lambda window: _done(
        maintenance_close(window=window, message=config.message or None, actor=context.actor)
    ))


def register() -> None:
    register_artifact_type(ArtifactType(
        id=ARTIFACT,
        description="A maintenance window created by an earlier step: later steps act on it by default.",
        schema=WindowArtifact,
        id_field="maintenance_id",
    ))
    add, change = ("maintenance.add_maintenancewindow",), ("maintenance.change_maintenancewindow",)
    consumes = (ARTIFACT,)
    for definition in [
        ActionDefinition(
            id="maintenance.create", description="Schedule a maintenance window.",
            config_schema=CreateConfig, execute=create, produces=ARTIFACT, permissions=add,
        ),
        ActionDefinition(
            id="maintenance.update", description="Change a maintenance window's title, schedule or systems.",
            config_schema=UpdateConfig, execute=update, consumes=consumes, permissions=change,
        ),
        ActionDefinition(
            id="maintenance.add_update", description="Post an update on a window, optionally changing its status.",
            config_schema=AddUpdateConfig, execute=add_update, consumes=consumes, permissions=change,
        ),
        ActionDefinition(
            id="maintenance.set_system",
            description="Put a system in maintenance now, for duration_minutes (an in-progress window).",
            config_schema=SetSystemConfig, execute=set_system, produces=ARTIFACT, permissions=add,
        ),
        ActionDefinition(
            id="maintenance.clear_system",
            description="End a window early: complete it, with an update saying so.",
            config_schema=ClearSystemConfig, execute=clear_system, consumes=consumes, closes_consumed=True,
            permissions=change,
        ),
    ]:
        register_action(definition)
