"""Which channel event a change is, which systems it concerns, and what its message says.

`channel_event` is pure (routing asks it before writing a delivery); the message is built once per change
inside the planning transaction, as of the change.
"""

from automation.entities.registry import Change
from catalog.models import System

from ..conf import public_url
from ..topics import Topic, notification_subject, notification_topic
from .models import ChannelEvent

# Incidents and windows are announced on channels exactly when they are announced by email (topics.py):
# one decision for both. A cancelled window has no channel event.
TOPIC_EVENTS = {
    Topic.INCIDENT_CREATED: ChannelEvent.INCIDENT_CREATED,
    Topic.INCIDENT_STATUS_CHANGED: ChannelEvent.INCIDENT_UPDATED,
    Topic.INCIDENT_RESOLVED: ChannelEvent.INCIDENT_RESOLVED,
    Topic.MAINTENANCE_SCHEDULED: ChannelEvent.MAINTENANCE_SCHEDULED,
    Topic.MAINTENANCE_STARTED: ChannelEvent.MAINTENANCE_STARTED,
    Topic.MAINTENANCE_COMPLETED: ChannelEvent.MAINTENANCE_COMPLETED,
}
# Kinds whose change events reach channels.
CHANNEL_KINDS = ("incident", "maintenance", "health", "impact", "slo")
# A system's own health (health.changed), and its health as its dependencies make it (impact.changed).
STATUS_EVENTS = {"health": ChannelEvent.HEALTH_CHANGED, "impact": ChannelEvent.IMPACT_CHANGED}
# An objective's status moving between ok, burning and exhausted: the same changes as fire the
# `slo.status_changed` trigger (checks/slos/entities.py); a new objective, or its budget band alone, is none.
SLO_SEVERITIES = {"exhausted": "critical", "burning": "warning"}
RESOLVING = {ChannelEvent.INCIDENT_RESOLVED, ChannelEvent.MAINTENANCE_COMPLETED}
# PagerDuty / Opsgenie severities by incident severity.
SEVERITIES = {"critical": "critical", "major": "error", "minor": "warning"}


def channel_event(change: Change) -> str | None:
    """The channel event of a change, or None when channels hear nothing of it (pure)."""
    if change.kind in ("incident", "maintenance"):
        return TOPIC_EVENTS.get(notification_topic(change))
    if change.kind in STATUS_EVENTS and not change.is_delete and "status" in change.changed_fields:
        return STATUS_EVENTS[change.kind]
    if change.kind == "slo" and not change.is_create and not change.is_delete and "status" in change.changed_fields:
        return ChannelEvent.SLO_STATUS_CHANGED
    return None


def affected_system_ids(change: Change) -> list[str]:
    """The systems the change concerns (a health change: its own system; an objective's: the one it is about)."""
    if change.kind in ("incident", "maintenance"):
        return [str(pk) for pk in (change.next or {}).get("system_ids") or []]
    if change.kind == "slo":
        return [str((change.next or {}).get("system_id"))]
    return [str(change.entity_id)]


def _system_names(system_ids: list[str]) -> list[str]:
    return list(System.objects.filter(pk__in=system_ids).order_by("name").values_list("name", flat=True))


def change_message(change: Change, event: str, entity) -> dict:
    """What every channel's message about this change says (JSON), as of the change."""
    base = public_url()
    if change.kind in ("incident", "maintenance"):
        from ..fanout import notification_context

        context = notification_context(change, entity)
        path = "incidents" if change.kind == "incident" else "maintenance"
        title = notification_subject(notification_topic(change), context)
        text = context["message"] or context["description"]
        severity = SEVERITIES.get(context.get("severity"), "info")
        systems, status = context["systems"], context["status"]
        url, key = f"{base}/status/{path}/{change.entity_id}/", str(change.entity_id)
        resolved = event in RESOLVING
    elif change.kind == "slo":
        return _slo_message(change, event, base)
    else:
        systems = _system_names([change.entity_id])
        status = change.next.get("status")
        name = systems[0] if systems else change.entity_id
        title, text = f"{name} is {status}", change.next.get("message") or ""
        if change.kind == "impact" and change.next.get("impacted_by"):
            title += f" (affected by {', '.join(_system_names(change.next['impacted_by']))})"
        severity = {"unhealthy": "critical", "degraded": "warning"}.get(status, "info")
        url, key, resolved = f"{base}/status/", f"{change.kind}:{change.entity_id}", status == "healthy"
    return {"event": event, "title": title, "text": text, "systems": systems, "status": status,
            "severity": severity, "url": url, "key": key, "resolved": resolved,
            "entity_kind": change.kind, "entity_id": str(change.entity_id),
            "occurred_at": change.occurred_at.isoformat()}


def _slo_message(change: Change, event: str, base: str) -> dict:
    """An objective's status change: "<system> / <objective> is burning", resolved when it is ok again."""
    state = change.next
    systems = _system_names([state.get("system_id")])
    status = state.get("status")
    title = f"{systems[0] if systems else state.get('system_id')} / {state.get('name')} is {status}"
    text = f"Error budget left: about {state.get('budget_band')} % (it was {(change.prev or {}).get('status')})"
    return {"event": event, "title": title, "text": text, "systems": systems, "status": status,
            "severity": SLO_SEVERITIES.get(status, "info"), "url": f"{base}/status/", "key": f"slo:{change.entity_id}",
            "resolved": status == "ok", "entity_kind": change.kind, "entity_id": str(change.entity_id),
            "occurred_at": change.occurred_at.isoformat()}


def direct_message(*, event: str, title: str, text: str, severity: str = "info", key: str) -> dict:
    """A message that is not about a change: a channel test, or an automation's notify.send."""
    return {"event": event, "title": title, "text": text, "systems": [], "status": None, "severity": severity,
            "url": f"{public_url()}/status/", "key": key, "resolved": False, "entity_kind": None,
            "entity_id": None, "occurred_at": None}
