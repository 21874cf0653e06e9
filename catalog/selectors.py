"""Reads of systems and their health."""

import uuid
from dataclasses import dataclass
from datetime import datetime

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
