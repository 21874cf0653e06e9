"""Writes of checks: create, update, delete, a heartbeat's ping and a new ping token.

Checks are configuration, not reactive state, so these write rows directly (no change events). Each write
saves only the configuration fields it owns: the scheduler writes the run state of the same row
(`next_run_at`, `lease_until`, `last_*`, `consecutive_failures`) and a save of every column would put back
what it read before a run finished.
"""

import hmac

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from catalog.models import System

from .models import Check, CheckKind, CheckLocation, Location, new_heartbeat_token
from .validation import CONFIG_FIELDS, check_validate

NAME_TAKEN = "This system already has a check with this name."


def _unknown(fields: dict) -> None:
    unknown = set(fields) - set(CONFIG_FIELDS)
    if unknown:
        raise TypeError(f"unknown check fields: {', '.join(sorted(unknown))}")


def _save(check: Check, **kwargs) -> None:
    """Save; the unique name per system is what a validated write can still break (a concurrent save)."""
    try:
        with transaction.atomic():  # a savepoint, so the caller's transaction stays usable
            check.save(**kwargs)
    except IntegrityError as exc:
        raise ValidationError({"name": [NAME_TAKEN]}) from exc


def _lock_system(system: System) -> None:
    """Hold the system's row until commit, so a concurrent delete waits for the check (and then cascades to
    it) or committed first and the check is refused here; the deferred foreign key would otherwise fail at
    commit, out of reach of a field error."""
    if not System.objects.select_for_update().filter(pk=system.pk).exists():
        raise ValidationError({"system": ["This system no longer exists."]})


def _placements_set(check: Check, location_ids) -> None:
    """Run `check` from exactly these locations (none: centrally); a new placement is due now."""
    if location_ids is None:
        return
    wanted = list(dict.fromkeys(str(pk) for pk in location_ids))
    if wanted and check.kind == CheckKind.HEARTBEAT:
        raise ValidationError({"location_ids": ["A heartbeat is pinged, not run: it has no locations."]})
    # Locked (FOR NO KEY UPDATE) so a location deleted meanwhile waits for this check, then cascades to it.
    found = {str(pk) for pk in Location.objects.select_for_update(no_key=True).filter(pk__in=wanted)
             .values_list("pk", flat=True)}
    if missing := [pk for pk in wanted if pk not in found]:
        raise ValidationError({"location_ids": [f"Unknown location id: {', '.join(missing)}."]})
    CheckLocation.objects.filter(check_ref=check).exclude(location_id__in=wanted).delete()
    have = {str(pk) for pk in CheckLocation.objects.filter(check_ref=check).values_list("location_id", flat=True)}
    now = timezone.now()
    CheckLocation.objects.bulk_create([CheckLocation(check_ref=check, location_id=pk, next_run_at=now)
                                       for pk in wanted if pk not in have])


@transaction.atomic
def check_create(*, system: System, editor=None, location_ids=None, **fields) -> Check:
    """Create a check of `system`, due now. `editor` None is a trusted caller (a command, the demo)."""
    _unknown(fields)
    _lock_system(system)
    check = Check(system=system, **fields)
    values = {name: getattr(check, name) for name in CONFIG_FIELDS}
    check_validate(values=values, system=system, editor=editor)
    check.next_run_at = timezone.now()
    _save(check, force_insert=True)
    _placements_set(check, location_ids)
    return check


@transaction.atomic
def check_update(*, check: Check, editor=None, system: System | None = None, location_ids=None,
                 **fields) -> Check:
    """Set the given configuration fields (and `system`); an enabled check is due now after the edit.

    The operator sees the edited check's result at once instead of one interval later; a run in flight keeps
    its lease, so the edit never starts a second one.

    Validates the check as it will be after the edit, on its locked row; `check` follows the saved row.
    """
    _unknown(fields)
    current = Check.objects.select_for_update().get(pk=check.pk)
    for name, value in fields.items():
        setattr(current, name, value)
    if system is not None:
        _lock_system(system)
        current.system = system
    values = {name: getattr(current, name) for name in CONFIG_FIELDS}
    check_validate(values=values, system=current.system_id, editor=editor, check=current)
    changed = [*fields, *(["system"] if system is not None else [])]
    if current.enabled:
        current.next_run_at = timezone.now()
        changed.append("next_run_at")
    _save(current, update_fields=[*changed, "updated_at"])
    _placements_set(current, location_ids)
    for field in current._meta.concrete_fields:
        setattr(check, field.attname, getattr(current, field.attname))
    return check


@transaction.atomic
def check_delete(*, check: Check) -> None:
    """Delete a check with its results and roll-ups."""
    Check.objects.filter(pk=check.pk).delete()  # results and roll-ups cascade


@transaction.atomic
def heartbeat_token_regenerate(*, check: Check) -> Check:
    """Give a check a new ping token: the old ping URL stops working at once."""
    check.heartbeat_token = new_heartbeat_token()
    check.save(update_fields=["heartbeat_token", "updated_at"])
    return check


def heartbeat_find(*, token: str):
    """The id of the heartbeat check with this ping token, or None: one read on the token's unique index."""
    found = (Check.objects.filter(kind=CheckKind.HEARTBEAT, heartbeat_token=token)
             .values_list("pk", "heartbeat_token").first())
    # The index found the row; the comparison of the secret itself takes constant time.
    if found is None or not hmac.compare_digest(found[1].encode(), token.encode()):
        return None
    return found[0]


def heartbeat_ping(*, check_id) -> None:
    """Record a ping of the heartbeat check `check_id` (found by `heartbeat_find`).

    A failing heartbeat becomes due now, so its system's health recovers at the ping rather than at the
    next scheduled run. One UPDATE: a concurrent run of the check cannot interleave with it.
    """
    now = timezone.now()
    failing = Q(enabled=True) & (Q(last_ok=False) | Q(consecutive_failures__gt=0))
    Check.objects.filter(pk=check_id, kind=CheckKind.HEARTBEAT).update(
        last_ping_at=now,
        next_run_at=Case(When(failing, then=Value(now)), default=F("next_run_at")),
    )
