"""Writes of maintenance windows and their updates, each through the entity-mutation service."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError

from automation.entities.actor import SYSTEM_ACTOR
from automation.entities.mutation import entity_mutate
from catalog.selectors import existing_system_ids

from .models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    MaintenanceStatus,
    MaintenanceSystem,
    MaintenanceUpdate,
    MaintenanceWindow,
)
from .selectors import due_window_ids

logger = logging.getLogger(__name__)

KIND = "maintenance"
UPDATABLE_FIELDS = frozenset(
    {"title", "description", "status", "start_at", "end_at", "suppress_notifications", "system_ids"}
)
CLOSED_MESSAGE = "Maintenance completed"


def _set_systems(window: MaintenanceWindow, system_ids: Iterable) -> None:
    """Make the window's links exactly `system_ids`, each naming an existing system (locked until commit)."""
    wanted = set(existing_system_ids(system_ids, lock=True))
    links = MaintenanceSystem.objects.filter(window_id=window.pk)
    existing = {str(i) for i in links.values_list("system_id", flat=True)}
    if added := wanted - existing:
        MaintenanceSystem.objects.bulk_create(
            MaintenanceSystem(window_id=window.pk, system_id=system_id) for system_id in sorted(added)
        )
    if removed := existing - wanted:
        links.filter(system_id__in=removed).delete()


def _validate(window: MaintenanceWindow) -> None:
    # Field rules and clean() (end after start); the check constraint stays as the database's backstop.
    window.full_clean(validate_unique=False, validate_constraints=False)


def _missing(window_id) -> MaintenanceWindow.DoesNotExist:
    return MaintenanceWindow.DoesNotExist(f"maintenance window {window_id} does not exist")


def maintenance_create(
    *,
    title: str,
    start_at: datetime,
    end_at: datetime,
    system_ids: Iterable = (),
    description: str = "",
    status: str = MaintenanceStatus.SCHEDULED,
    suppress_notifications: bool = False,
    actor: str,
) -> MaintenanceWindow:
    """Schedule a window covering `system_ids`."""
    window = MaintenanceWindow(
        title=title,
        description=description,
        status=status,
        start_at=start_at,
        end_at=end_at,
        suppress_notifications=suppress_notifications,
    )
    _validate(window)

    def write(_current):
        window.save(force_insert=True)
        _set_systems(window, system_ids)
        return window

    entity_mutate(kind=KIND, entity_id=window.pk, write=write, actor=actor)
    return window


def maintenance_update(*, window: MaintenanceWindow, actor: str, **fields) -> MaintenanceWindow:
    """Set the given fields (see UPDATABLE_FIELDS) on the locked row and save; returns that row."""
    if unknown := set(fields) - UPDATABLE_FIELDS:
        raise TypeError(f"maintenance_update() got unknown fields: {', '.join(sorted(unknown))}")
    system_ids = fields.pop("system_ids", None)

    def write(current: MaintenanceWindow | None):
        if current is None:
            raise _missing(window.pk)
        for name, value in fields.items():
            setattr(current, name, value)
        _validate(current)
        current.save()
        if system_ids is not None:
            _set_systems(current, system_ids)
        return current

    updated, _event = entity_mutate(kind=KIND, entity_id=window.pk, write=write, actor=actor)
    return updated


def maintenance_add_update(
    *, window: MaintenanceWindow, message: str, status_change: str | None = None, actor: str
) -> MaintenanceUpdate:
    """Post an update; with a status_change it also sets the window's status (a comment alone changes none)."""
    status_change = status_change or None
    if not (message or "").strip():
        raise ValidationError({"message": ["This field may not be blank."]})
    if status_change is not None and status_change not in MaintenanceStatus.values:
        raise ValidationError({"status_change": [f'"{status_change}" is not a valid maintenance status.']})
    posted = {}

    def write(current: MaintenanceWindow | None):
        if current is None:
            raise _missing(window.pk)
        if status_change is not None:
            current.status = status_change
        current.save(update_fields=["status", "updated_at"])
        posted["update"] = MaintenanceUpdate.objects.create(
            window=current, message=message, status_change=status_change, created_by=actor
        )
        return current

    entity_mutate(kind=KIND, entity_id=window.pk, write=write, actor=actor)
    return posted["update"]


def maintenance_close(*, window: MaintenanceWindow, message: str | None = None, actor: str) -> MaintenanceWindow:
    """Complete the window and post an update; a completed or cancelled window is left as it is."""

    def write(current: MaintenanceWindow | None):
        if current is None:
            raise _missing(window.pk)
        if current.status in FINAL_STATUSES:
            return current
        current.status = MaintenanceStatus.COMPLETED
        current.save(update_fields=["status", "updated_at"])
        MaintenanceUpdate.objects.create(
            window=current,
            message=message or CLOSED_MESSAGE,
            status_change=MaintenanceStatus.COMPLETED,
            created_by=actor,
        )
        return current

    closed, _event = entity_mutate(kind=KIND, entity_id=window.pk, write=write, actor=actor)
    return closed


def maintenance_delete(*, window: MaintenanceWindow, actor: str) -> None:
    """Delete the window with its updates (a tombstone change); deleting a missing window does nothing."""

    def write(current: MaintenanceWindow | None):
        if current is not None:
            current.delete()
        return None

    entity_mutate(kind=KIND, entity_id=window.pk, write=write, actor=actor, deleting=True)


def maintenance_remove_system(*, window: MaintenanceWindow, system_id, actor: str) -> MaintenanceWindow | None:
    """Stop the window covering one system; idempotent (an absent link or window changes nothing)."""

    def write(current: MaintenanceWindow | None):
        if current is None:
            return None
        removed, _ = MaintenanceSystem.objects.filter(window_id=current.pk, system_id=system_id).delete()
        if removed:
            current.save(update_fields=["updated_at"])
        return current

    after, _event = entity_mutate(kind=KIND, entity_id=window.pk, write=write, actor=actor)
    return after


def next_scheduled_status(*, status: str, start_at: datetime, end_at: datetime, now: datetime) -> str | None:
    """The status beat should move a window to at `now`, or None to leave it.

    A scheduled window whose end has also passed (nothing ran for its whole span) goes straight to
    completed in one change: it was never seen in progress, so no start is recorded or announced.
    """
    if status not in OPEN_STATUSES:
        return None
    if end_at <= now:
        return MaintenanceStatus.COMPLETED
    if status == MaintenanceStatus.SCHEDULED and start_at <= now:
        return MaintenanceStatus.IN_PROGRESS
    return None


@dataclass(frozen=True)
class ScheduleAdvance:
    started: list[str]
    completed: list[str]


def _advance_window(*, window_id, now: datetime) -> str | None:
    moved = {}

    def write(current: MaintenanceWindow | None):
        if current is None:
            return None
        # Decided again under the row lock: another beat process may have moved (or an operator edited)
        # the window since it was listed as due, and each move must be written once.
        target = next_scheduled_status(status=current.status, start_at=current.start_at, end_at=current.end_at, now=now)
        if target is not None:
            current.status = target
            current.save(update_fields=["status", "updated_at"])
            moved["to"] = target
        return current

    entity_mutate(kind=KIND, entity_id=window_id, write=write, actor=SYSTEM_ACTOR)
    return moved.get("to")


def maintenance_advance_schedule(*, now: datetime) -> ScheduleAdvance:
    """Start windows whose start has passed and complete those whose end has passed, as of `now`.

    Safe to run from several processes at once. Each window moves in its own transaction, so one
    failing window neither rolls back nor blocks the others (it is retried on the next tick).
    """
    started, completed = [], []
    for window_id in due_window_ids(now=now):
        try:
            target = _advance_window(window_id=window_id, now=now)
        except Exception:  # logged; the window stays due and the next tick retries it
            logger.exception("could not advance maintenance window %s", window_id)
            continue
        if target == MaintenanceStatus.IN_PROGRESS:
            started.append(str(window_id))
        elif target == MaintenanceStatus.COMPLETED:
            completed.append(str(window_id))
    return ScheduleAdvance(started=started, completed=completed)
