"""What the public status page shows: only public facts, read in a fixed number of queries."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from catalog.models import HealthSource
from catalog.selectors import system_list
from checks.uptime import uptime_for_systems, with_has_checks
from incidents.selectors import incidents_open
from maintenance.selectors import maintenance_current, maintenance_upcoming

from .charts import system_history


@dataclass(frozen=True)
class StatusPage:
    systems: list
    incidents: list
    current_maintenance: list
    upcoming_maintenance: list


def _names(links, names_by_id) -> list[str]:
    return sorted(names_by_id[str(link.system_id)] for link in links if str(link.system_id) in names_by_id)


def public_message(health) -> str:
    """The health message the public may read: a reported one, cut to the setting's length; never one written
    by checks (it quotes probe errors: host names, addresses, banners)."""
    if health is None or health.source != HealthSource.REPORTED:
        return ""
    limit = settings.CHECKSTACK_STATUS_MESSAGE_CHARS
    return health.message if len(health.message) <= limit else health.message[: limit - 1] + "…"


def status_page(*, now: datetime) -> StatusPage:
    systems = list(with_has_checks(system_list()))
    # Two more queries for all systems with checks together; none when no system has one.
    uptime = uptime_for_systems(system_ids=[s.pk for s in systems if s.has_checks], now=now)
    names = {str(s.pk): s.name for s in systems}
    incidents = []
    for incident in incidents_open():
        updates = sorted(incident.updates.all(), key=lambda u: (u.created_at, u.pk))
        incidents.append({"title": incident.title, "status": incident.status, "severity": incident.severity,
                          "systems": _names(incident.system_links.all(), names),
                          "latest_update": updates[-1] if updates else None, "created_at": incident.created_at})
    current, upcoming = [], []
    for window in [*maintenance_current(), *maintenance_upcoming()]:
        entry = {"title": window.title, "status": window.status, "start_at": window.start_at,
                 "end_at": window.end_at, "systems": _names(window.system_links.all(), names)}
        (current if window.status == "in_progress" or window.start_at <= now else upcoming).append(entry)
    health = [{"name": s.name, "status": getattr(getattr(s, "health", None), "status", None),
               "message": public_message(getattr(s, "health", None)),
               "history": system_history(uptime[str(s.pk)]) if str(s.pk) in uptime else None} for s in systems]
    return StatusPage(systems=health, incidents=incidents, current_maintenance=current,
                      upcoming_maintenance=upcoming)
