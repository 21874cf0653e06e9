"""Writes of incidents and their updates, each through the entity-mutation service.

Every write applies its fields to the row `entity_mutate` locked (not the caller's possibly stale copy)
and returns that fresh instance.
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from automation.entities.mutation import entity_mutate
from catalog.selectors import existing_system_ids

from .models import Incident, IncidentSeverity, IncidentStatus, IncidentSystem, IncidentUpdate

KIND = "incident"
RESOLVED_MESSAGE = "Incident resolved"
UPDATABLE_FIELDS = frozenset({"title", "description", "severity", "status", "system_ids", "suppress_notifications"})


def incident_create(
    *,
    title: str,
    description: str = "",
    severity: str = IncidentSeverity.MAJOR,
    system_ids: Iterable = (),
    initial_message: str | None = None,
    suppress_notifications: bool = False,
    actor: str,
) -> Incident:
    """Open an incident (status investigating), with an initial update when a message is given."""
    incident = Incident(
        title=title,
        description=description,
        severity=severity,
        suppress_notifications=suppress_notifications,
        status=IncidentStatus.INVESTIGATING,
    )
    _validate(incident)

    def write(_current):
        wanted = existing_system_ids(system_ids, lock=True)
        incident.save(force_insert=True)
        _set_systems(incident, wanted)
        if initial_message:
            _post_update(incident, message=initial_message, status_change=IncidentStatus.INVESTIGATING, actor=actor)
        return incident

    entity_mutate(kind=KIND, entity_id=incident.pk, write=write, actor=actor)
    return incident


def incident_update(*, incident: Incident, actor: str, **fields) -> Incident:
    """Set any of title, description, severity, status, system_ids, suppress_notifications."""
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"incident_update() got unexpected fields: {', '.join(sorted(unknown))}")
    fields = dict(fields)
    system_ids = fields.pop("system_ids", None)
    status = fields.pop("status", None)

    def write(current: Incident | None) -> Incident:
        current = _require(current, incident)
        wanted = existing_system_ids(system_ids, lock=True) if system_ids is not None else None
        changed = any(getattr(current, name) != value for name, value in fields.items())
        for name, value in fields.items():
            setattr(current, name, value)
        if status is not None and status != current.status:
            _set_status(current, status, timezone.now())
            changed = True
        if wanted is not None:
            changed = _set_systems(current, wanted) or changed
        if changed:  # an update that changes nothing leaves updated_at alone
            _validate(current)
            current.save()
        return current

    updated, _event = entity_mutate(kind=KIND, entity_id=incident.pk, write=write, actor=actor)
    return updated


def incident_add_update(
    *, incident: Incident, message: str, status_change: str | None = None, actor: str
) -> IncidentUpdate:
    """Add a timeline update; with a status_change it also flips the status (a comment alone emits nothing)."""
    if not message or not message.strip():
        raise ValidationError({"message": ["An update needs a message."]})
    if status_change is not None and status_change not in IncidentStatus.values:
        raise ValidationError({"status_change": [f"'{status_change}' is not a valid incident status."]})
    posted = {}

    def write(current: Incident | None) -> Incident:
        current = _require(current, incident)
        if status_change is not None:
            _set_status(current, status_change, timezone.now())
        current.save()  # also bumps updated_at for a comment-only update
        posted["update"] = _post_update(current, message=message, status_change=status_change, actor=actor)
        return current

    entity_mutate(kind=KIND, entity_id=incident.pk, write=write, actor=actor)
    return posted["update"]


def incident_resolve(*, incident: Incident, message: str | None = None, actor: str) -> Incident:
    """Resolve with an update ("Incident resolved" by default); resolving a resolved incident does nothing."""

    def write(current: Incident | None) -> Incident:
        current = _require(current, incident)
        if current.status == IncidentStatus.RESOLVED:
            return current  # idempotent: no second "resolved" entry on the timeline
        _set_status(current, IncidentStatus.RESOLVED, timezone.now())
        current.save()
        _post_update(current, message=message or RESOLVED_MESSAGE, status_change=IncidentStatus.RESOLVED, actor=actor)
        return current

    resolved, _event = entity_mutate(kind=KIND, entity_id=incident.pk, write=write, actor=actor)
    return resolved


def incident_delete(*, incident: Incident, actor: str) -> None:
    """Delete an incident with its updates (a tombstone change; no trigger event)."""

    def write(current: Incident | None) -> None:
        if current is not None:
            current.delete()
        return None

    entity_mutate(kind=KIND, entity_id=incident.pk, write=write, actor=actor, deleting=True)


def incident_remove_system(*, incident: Incident, system_id, actor: str) -> Incident | None:
    """Stop listing a system on an incident; idempotent (removing an absent system changes nothing)."""

    def write(current: Incident | None) -> Incident | None:
        if current is None:
            return None  # deleted meanwhile: nothing left to change
        removed, _by_model = IncidentSystem.objects.filter(incident=current, system_id=system_id).delete()
        if removed:
            current.save(update_fields=["updated_at"])
        return current

    updated, _event = entity_mutate(kind=KIND, entity_id=incident.pk, write=write, actor=actor)
    return updated


def _require(current: Incident | None, incident: Incident) -> Incident:
    if current is None:
        raise Incident.DoesNotExist(f"incident {incident.pk} no longer exists")
    return current


def _validate(incident: Incident) -> None:
    # Field rules only (lengths, blanks, choices); constraints would cost a query each.
    incident.full_clean(validate_unique=False, validate_constraints=False)


def _set_status(incident: Incident, status: str, now: datetime) -> None:
    """Set the status, keeping resolved_at in step: set when resolving, cleared when reopening."""
    if status == incident.status:
        return
    incident.status = status
    incident.resolved_at = now if status == IncidentStatus.RESOLVED else None


def _set_systems(incident: Incident, system_ids: list[str]) -> bool:
    """Make the incident list exactly these systems; True when that changed anything."""
    links = IncidentSystem.objects.filter(incident=incident)
    current = {str(pk) for pk in links.values_list("system_id", flat=True)}
    wanted = set(system_ids)
    if current == wanted:
        return False
    links.filter(system_id__in=current - wanted).delete()
    IncidentSystem.objects.bulk_create(
        IncidentSystem(incident=incident, system_id=pk) for pk in sorted(wanted - current)
    )
    return True


def _post_update(incident: Incident, *, message: str, status_change: str | None, actor: str) -> IncidentUpdate:
    return IncidentUpdate.objects.create(
        incident=incident, message=message, status_change=status_change, created_by=actor
    )
