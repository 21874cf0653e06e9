"""What the public status page shows: only public facts, read in a fixed number of queries.

`/status/` and `/status/summary.json` read the same `StatusPage`: systems with their status, impact and
90-day uptime, grouped; open incidents with their updates; maintenance in progress and upcoming.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch

from catalog.impact_graph import worst_status
from catalog.models import HealthSource, System
from checks.uptime import SystemUptime, uptime_for_systems
from incidents.selectors import incidents_open
from maintenance.models import (
    MaintenanceStatus,
    MaintenanceSystem,
    MaintenanceUpdate,
    MaintenanceWindow,
)

from .catalog_reads import (
    PublicGroup,
    groups_ordered,
    systems_for_page,
)
from .overall import Overall, overall_status


@dataclass
class PublicSystem:
    id: str
    name: str
    status: str | None  # its own health; None before the first report
    impact_status: str | None  # as its dependencies make it
    impacted_by: list[str]  # names, sorted
    impacted_by_ids: list[str]
    message: str
    group_id: str | None
    uptime: SystemUptime | None  # None without checks


@dataclass
class Section:
    group: PublicGroup
    status: str | None
    systems: list[PublicSystem]


@dataclass
class StatusPage:
    overall: Overall
    systems: list[PublicSystem]  # every system, by name
    sections: list[Section]  # groups in position order, empty ones included
    ungrouped: list[PublicSystem]
    incidents: list  # open incidents, newest first, updates prefetched (oldest first)
    current_maintenance: list
    upcoming_maintenance: list
    names: dict[str, str] = field(default_factory=dict)  # system id -> name

    def system_names(self, ids) -> list[str]:
        return sorted(self.names[str(i)] for i in ids if str(i) in self.names)


def _systems(now: datetime, *, pk=None) -> list[PublicSystem]:
    rows = systems_for_page(pk=pk)
    # Two more queries for all systems with checks together; none when no system has one. One system's page
    # also draws its 24-hour chart.
    checks = {check_id: row.id for row in rows for check_id in row.check_ids}
    uptime = uptime_for_systems(system_ids=set(checks.values()), now=now, series=pk is not None,
                                fleet=pk is None, checks=None if pk is not None else checks)
    names = {row.id: row.name for row in rows}
    return [PublicSystem(
        id=row.id, name=row.name, status=row.status, impact_status=row.impact_status,
        impacted_by=sorted(names[i] for i in row.impacted_by if i in names), impacted_by_ids=list(row.impacted_by),
        message=public_message(source=row.source, message=row.message), group_id=row.group_id,
        uptime=uptime.get(row.id)) for row in rows]


def open_maintenance() -> list[MaintenanceWindow]:
    """Windows scheduled or in progress, soonest first, links and updates prefetched (3 queries)."""
    return list(MaintenanceWindow.objects.filter(status__in=[MaintenanceStatus.SCHEDULED,
                                                            MaintenanceStatus.IN_PROGRESS])
                .order_by("start_at", "id").prefetch_related(
                    Prefetch("system_links", queryset=MaintenanceSystem.objects.only("window_id", "system_id")),
                    Prefetch("updates", queryset=MaintenanceUpdate.objects.order_by("created_at", "id"))))


def in_progress(window: MaintenanceWindow, now: datetime) -> bool:
    """In progress, or scheduled and already started (beat has not moved it yet)."""
    return window.status == MaintenanceStatus.IN_PROGRESS or window.start_at <= now < window.end_at


def _sections(systems: list[PublicSystem]) -> tuple[list[Section], list[PublicSystem]]:
    groups = groups_ordered()
    by_group = {group.id: [] for group in groups}
    ungrouped = []
    for system in systems:
        by_group.get(system.group_id, ungrouped).append(system)
    sections = [Section(group, worst_status(s.impact_status for s in by_group[group.id]), by_group[group.id])
                for group in groups]
    return sections, ungrouped


def public_message(*, source: str | None, message: str) -> str:
    """The health message the public may read: a reported one, cut to the setting's length; never one written
    by checks (it quotes probe errors: host names, addresses, banners). `source` None: no health yet."""
    if source != HealthSource.REPORTED:
        return ""
    limit = settings.CHECKSTACK_STATUS_MESSAGE_CHARS
    return message if len(message) <= limit else message[: limit - 1] + "…"


def status_page(*, now: datetime) -> StatusPage:
    """Everything /status/ and summary.json show, in a number of queries that does not grow with content."""
    systems = _systems(now)
    sections, ungrouped = _sections(systems)
    windows = open_maintenance()
    current = [w for w in windows if in_progress(w, now)]
    upcoming = [w for w in windows if not in_progress(w, now) and w.end_at > now]
    under_maintenance = {str(link.system_id) for w in current for link in w.system_links.all()}
    overall = overall_status(statuses=[s.impact_status for s in systems if s.id not in under_maintenance],
                             maintenance_in_progress=bool(current))
    page = StatusPage(overall=overall, systems=systems, sections=sections, ungrouped=ungrouped,
                      incidents=list(incidents_open()), current_maintenance=current, upcoming_maintenance=upcoming,
                      names={s.id: s.name for s in systems})
    for record in [*page.incidents, *windows]:
        record.system_names = page.system_names(link.system_id for link in record.system_links.all())
    return page


def system_public(pk, *, now: datetime) -> PublicSystem | None:
    """One system as its own page shows it, with the 24-hour series of its checks (4 queries)."""
    found = _systems(now, pk=pk)
    if not found:
        return None
    [system] = found
    if system.impacted_by_ids:  # the systems upstream were not read with this one
        system.impacted_by = sorted(System.objects.filter(pk__in=system.impacted_by_ids)
                                    .values_list("name", flat=True))
    return system
