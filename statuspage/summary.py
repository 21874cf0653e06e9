"""`/status/summary.json`: the page as data, in the shape Statuspage-style tooling reads (SPEC section 10)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse

from checks.uptime import SystemUptime

from .selectors import StatusPage


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def absolute(path: str) -> str:
    return settings.CHECKSTACK_PUBLIC_URL.rstrip("/") + path


def uptime_90d(uptime: SystemUptime | None) -> float | None:
    """Percent of the last 90 days' check runs that passed, rounded down to two decimals; None without data."""
    percent = None if uptime is None else uptime.last_90d.percent
    return None if percent is None else int(percent * 100) / 100


def _updates(record) -> list[dict]:
    updates = sorted(record.updates.all(), key=lambda u: (u.created_at, str(u.pk)), reverse=True)
    return [{"id": str(u.pk), "message": u.message, "status": u.status_change,
             "created_at": _iso(u.created_at)} for u in updates]


def _incident(incident) -> dict:
    return {"id": str(incident.pk), "title": incident.title, "status": incident.status,
            "severity": incident.severity,
            "system_ids": sorted(str(link.system_id) for link in incident.system_links.all()),
            "created_at": _iso(incident.created_at), "updated_at": _iso(incident.updated_at),
            "resolved_at": _iso(incident.resolved_at),
            "url": absolute(reverse("statuspage:incident", args=[incident.pk])), "updates": _updates(incident)}


def _maintenance(window) -> dict:
    return {"id": str(window.pk), "title": window.title, "status": window.status,
            "system_ids": sorted(str(link.system_id) for link in window.system_links.all()),
            "start_at": _iso(window.start_at), "end_at": _iso(window.end_at),
            "url": absolute(reverse("statuspage:maintenance", args=[window.pk])), "updates": _updates(window)}


def summary(page: StatusPage, *, updated_at: datetime) -> dict:
    """The summary document of a status page read at `updated_at`'s data."""
    return {
        "page": {"name": settings.CHECKSTACK_STATUS_NAME, "url": absolute(reverse("status")),
                 "updated_at": _iso(updated_at)},
        "status": {"indicator": page.overall.indicator, "description": page.overall.description},
        "groups": [{"id": s.group.id, "name": s.group.name, "status": s.status,
                    "system_ids": [system.id for system in s.systems]} for s in page.sections],
        "systems": [{"id": s.id, "name": s.name, "status": s.status, "impact_status": s.impact_status,
                     "group_id": s.group_id, "uptime_90d": uptime_90d(s.uptime)} for s in page.systems],
        "incidents": [_incident(incident) for incident in page.incidents],
        "maintenances": [_maintenance(window) for window in
                         [*page.current_maintenance, *page.upcoming_maintenance]],
    }
