"""Writes of locations (through the entity-mutation service): create, update, delete, token rotation,
heartbeat, and the sweep that sets silent locations offline."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from automation.entities.mutation import entity_mutate

from ..models import Location, LocationStatus
from .state import location_checks, location_checks_follow
from .tokens import new_location_token, token_digest

LOCATION_FIELDS = frozenset({"name", "description"})
NAME_TAKEN = "A location with this name already exists."
SWEEP_ACTOR = "system:locations"


@dataclass(frozen=True)
class IssuedToken:
    """A location and its token in clear: returned once, on creation or rotation."""

    location: Location
    token: str


def _save(location: Location, **kwargs) -> None:
    try:
        location.save(**kwargs)
    except IntegrityError as exc:  # the mutation's transaction rolls back whole as this propagates
        raise ValidationError({"name": [NAME_TAKEN]}) from exc


def location_create(*, name: str, description: str = "", actor: str) -> IssuedToken:
    token = new_location_token()
    location = Location(name=name, description=description, token_hash=token_digest(token))

    def write(_current):
        _save(location, force_insert=True)
        return location

    entity_mutate(kind="location", entity_id=location.pk, write=write, actor=actor)
    return IssuedToken(location, token)


def location_update(*, location: Location, actor: str, **fields) -> Location:
    if unknown := set(fields) - LOCATION_FIELDS:
        raise TypeError(f"location_update() got unknown fields: {', '.join(sorted(unknown))}")

    def write(current: Location | None):
        if current is None:
            raise Location.DoesNotExist(f"location {location.pk} no longer exists")
        for name, value in fields.items():
            setattr(current, name, value)
        _save(current, update_fields=[*fields, "updated_at"])
        return current

    updated, _event = entity_mutate(kind="location", entity_id=location.pk, write=write, actor=actor)
    return updated


def location_delete(*, location: Location, actor: str) -> None:
    """Delete a location; its checks run from their other locations (or centrally when none is left)."""

    def write(current: Location | None):
        if current is not None:
            affected = location_checks(current.pk)
            current.delete()
            # Its results no longer count: the checks it ran are what their other locations say.
            location_checks_follow(location_id=current.pk, rows=affected)
        return None

    entity_mutate(kind="location", entity_id=location.pk, write=write, actor=actor, deleting=True)


def location_token_rotate(*, location: Location, actor: str) -> IssuedToken:
    """A new token; the old one stops working at once."""
    token = new_location_token()

    def write(current: Location | None):
        if current is None:
            raise Location.DoesNotExist(f"location {location.pk} no longer exists")
        current.token_hash = token_digest(token)
        current.save(update_fields=["token_hash", "updated_at"])
        return current

    updated, _event = entity_mutate(kind="location", entity_id=location.pk, write=write, actor=actor)
    return IssuedToken(updated, token)


def _set_status(location_id, status: str, *, seen_at=None) -> bool:
    """Set the status (and last seen); whether the status changed. The caller owns the transaction."""
    changed = []

    def write(current: Location | None):
        if current is None:
            return None
        changed.append(current.status != status)
        current.status = status
        fields = ["status"]
        if seen_at is not None:
            current.last_seen_at = seen_at
            fields.append("last_seen_at")
        current.save(update_fields=fields)
        return current

    entity_mutate(kind="location", entity_id=location_id, write=write, actor=SWEEP_ACTOR)
    return bool(changed and changed[0])


@transaction.atomic
def location_heartbeat(*, location_id) -> None:
    """The prober is alive: last seen now, online; its checks' health follows when it was offline."""
    if _set_status(location_id, LocationStatus.ONLINE, seen_at=timezone.now()):
        location_checks_follow(location_id=location_id)


def locations_sweep(*, now=None) -> list[str]:
    """Set offline every online location silent for CHECKSTACK_PROBER_OFFLINE_SECONDS; their ids."""
    now = now or timezone.now()
    silent_since = now - timedelta(seconds=settings.CHECKSTACK_PROBER_OFFLINE_SECONDS)
    silent = list(Location.objects.filter(status=LocationStatus.ONLINE, last_seen_at__lt=silent_since)
                  .values_list("pk", flat=True))
    gone = []
    for location_id in silent:
        with transaction.atomic():
            # Looked at again on the locked row: a heartbeat may have arrived since the read above.
            location = Location.objects.select_for_update().filter(pk=location_id).first()
            if location is None or location.status != LocationStatus.ONLINE or location.last_seen_at >= silent_since:
                continue
            _set_status(location_id, LocationStatus.OFFLINE)
            location_checks_follow(location_id=location_id)
            gone.append(str(location_id))
    return gone
