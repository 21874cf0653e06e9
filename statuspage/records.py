"""Public reads of incidents and maintenance: one record's page, the history, the feeds' updates.

Each read has a fixed number of queries; nothing here returns who wrote an update (`created_by` is internal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch

from incidents.models import Incident, IncidentStatus, IncidentSystem, IncidentUpdate
from maintenance.models import (
    MaintenanceStatus,
    MaintenanceSystem,
    MaintenanceUpdate,
    MaintenanceWindow,
)

HISTORY_PAGE_DAYS = 90
FEED_ENTRIES = 50


@dataclass(frozen=True)
class Record:
    """An incident or a maintenance window as the public pages show it."""

    kind: str  # incident | maintenance
    obj: Incident | MaintenanceWindow
    started_at: datetime
    ended_at: datetime | None
    updates: list  # oldest first

    @property
    def duration(self) -> timedelta | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


def _incidents():
    return Incident.objects.prefetch_related(
        Prefetch("system_links", queryset=IncidentSystem.objects.only("incident_id", "system_id")),
        Prefetch("updates", queryset=IncidentUpdate.objects.order_by("created_at", "id")))


def _windows():
    return MaintenanceWindow.objects.prefetch_related(
        Prefetch("system_links", queryset=MaintenanceSystem.objects.only("window_id", "system_id")),
        Prefetch("updates", queryset=MaintenanceUpdate.objects.order_by("created_at", "id")))


def incident_record(incident: Incident) -> Record:
    return Record("incident", incident, incident.created_at, incident.resolved_at, list(incident.updates.all()))


def maintenance_record(window: MaintenanceWindow) -> Record:
    ended = window.end_at if window.status in (MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED) else None
    if ended is not None and window.status == MaintenanceStatus.COMPLETED:
        # Closed early: the update that completed it says when.
        closing = [u.created_at for u in window.updates.all() if u.status_change == MaintenanceStatus.COMPLETED]
        ended = min([ended, *closing])
    return Record("maintenance", window, window.start_at, ended, list(window.updates.all()))


def incident_public(pk) -> Record | None:
    incident = _incidents().filter(pk=pk).first()
    return None if incident is None else incident_record(incident)


def maintenance_public(pk) -> Record | None:
    window = _windows().filter(pk=pk).first()
    return None if window is None else maintenance_record(window)


@dataclass(frozen=True)
class HistoryPage:
    number: int
    since: datetime
    until: datetime
    records: list[Record]  # newest first
    has_older: bool


def history_page(*, now: datetime, number: int) -> HistoryPage:
    """Resolved incidents and completed maintenance that started in the page's 90 days, newest first.

    Page 1 is the last 90 days, page 2 the 90 before them, and so on (7 queries).
    """
    until = now - timedelta(days=HISTORY_PAGE_DAYS * (number - 1))
    since = until - timedelta(days=HISTORY_PAGE_DAYS)
    incidents = _incidents().filter(status=IncidentStatus.RESOLVED, created_at__gte=since, created_at__lt=until)
    windows = _windows().filter(status=MaintenanceStatus.COMPLETED, start_at__gte=since, start_at__lt=until)
    records = [*map(incident_record, incidents), *map(maintenance_record, windows)]
    records.sort(key=lambda r: (r.started_at, str(r.obj.pk)), reverse=True)
    has_older = (Incident.objects.filter(status=IncidentStatus.RESOLVED, created_at__lt=since).exists()
                 or MaintenanceWindow.objects.filter(status=MaintenanceStatus.COMPLETED, start_at__lt=since).exists())
    return HistoryPage(number, since, until, records, has_older)


@dataclass(frozen=True)
class FeedEntry:
    kind: str  # incident | maintenance
    update: IncidentUpdate | MaintenanceUpdate
    parent: Incident | MaintenanceWindow


def feed_entries(limit: int = FEED_ENTRIES) -> list[FeedEntry]:
    """The newest updates of incidents and maintenance together, newest first (2 queries)."""
    incident_updates = IncidentUpdate.objects.select_related("incident").order_by("-created_at", "-id")[:limit]
    window_updates = MaintenanceUpdate.objects.select_related("window").order_by("-created_at", "-id")[:limit]
    entries = [*(FeedEntry("incident", u, u.incident) for u in incident_updates),
               *(FeedEntry("maintenance", u, u.window) for u in window_updates)]
    entries.sort(key=lambda e: (e.update.created_at, str(e.update.pk)), reverse=True)
    return entries[:limit]


def calendar_windows() -> list[MaintenanceWindow]:
    """Maintenance scheduled or in progress, soonest first."""
    return list(MaintenanceWindow.objects.filter(
        status__in=[MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS]).order_by("start_at", "id"))
