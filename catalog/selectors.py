"""Reads of systems and their health."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from .models import System, SystemHealth


@dataclass(frozen=True)
class UnreportedHealth:
    """The health of a system nobody has reported on yet: every value unknown."""

    system_id: uuid.UUID
    status: None = None
    message: str = ""
    latency_ms: None = None
    updated_at: datetime | None = None


def system_list() -> QuerySet[System]:
    """Systems by name, each with its health joined in (one query for the page)."""
    return System.objects.select_related("health").order_by("name")


def system_health(*, system: System) -> SystemHealth | UnreportedHealth:
    """The system's health row, or an all-unknown stand-in before its first report."""
    try:
        return system.health
    except SystemHealth.DoesNotExist:
        return UnreportedHealth(system_id=system.pk)


def existing_system_ids(system_ids: Iterable, *, lock: bool = False) -> list[str]:
    """Distinct ids of existing systems, in order; a malformed or unknown id is a ValidationError.

    With `lock`, call it inside the transaction that links the systems: their rows stay locked until it
    commits, so a concurrent system_delete either committed first (the id is unknown here) or waits for the
    links to commit, and its tombstone handling then removes them. The link tables have no foreign-key
    constraint to catch a system deleted between this check and the insert, so linking writes must lock.
    """
    wanted = []
    for raw in system_ids:
        try:
            wanted.append(str(uuid.UUID(str(raw))))
        except ValueError:
            raise ValidationError({"system_ids": [f"'{raw}' is not a valid system id."]}) from None
    wanted = list(dict.fromkeys(wanted))
    systems = System.objects.select_for_update() if lock else System.objects
    found = {str(pk) for pk in systems.filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True)}
    if unknown := [pk for pk in wanted if pk not in found]:
        raise ValidationError({"system_ids": [f"Unknown system id(s): {', '.join(unknown)}."]})
    return wanted


def systems_with_health_status(*, statuses: Iterable[str]) -> QuerySet[System]:
    """Systems whose last reported health is one of `statuses` (never-reported systems excluded)."""
    return System.objects.filter(health__status__in=list(statuses))
