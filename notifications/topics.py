"""Which incident and maintenance changes are announced to subscribers, and under what subject (pure)."""

from django.db import models

from automation.entities.registry import Change


class Topic(models.TextChoices):
    INCIDENT_CREATED = "incident_created"
    INCIDENT_STATUS_CHANGED = "incident_status_changed"
    INCIDENT_RESOLVED = "incident_resolved"
    MAINTENANCE_SCHEDULED = "maintenance_scheduled"
    MAINTENANCE_STARTED = "maintenance_started"
    MAINTENANCE_COMPLETED = "maintenance_completed"
    MAINTENANCE_CANCELLED = "maintenance_cancelled"


# A window is announced when it is created or its status changes, by the status it now has.
MAINTENANCE_TOPICS = {
    "scheduled": Topic.MAINTENANCE_SCHEDULED,
    "in_progress": Topic.MAINTENANCE_STARTED,
    "completed": Topic.MAINTENANCE_COMPLETED,
    "cancelled": Topic.MAINTENANCE_CANCELLED,
}

SUBJECTS = {
    Topic.INCIDENT_CREATED: "Incident: {title}",
    Topic.INCIDENT_STATUS_CHANGED: "Incident update ({status}): {title}",
    Topic.INCIDENT_RESOLVED: "Resolved: {title}",
    Topic.MAINTENANCE_SCHEDULED: "Maintenance scheduled: {title}",
    Topic.MAINTENANCE_STARTED: "Maintenance started: {title}",
    Topic.MAINTENANCE_COMPLETED: "Maintenance completed: {title}",
    Topic.MAINTENANCE_CANCELLED: "Maintenance cancelled: {title}",
}


def notification_topic(change: Change) -> Topic | None:
    """The topic of an incident or maintenance change, or None when it announces nothing.

    Incidents: created, any status change (resolved has its own topic, a reopen is a status change).
    Windows: created, any status change. Other edits (severity, systems, times, title) and tombstones
    announce nothing.
    """
    if change.is_delete or not (change.is_create or "status" in change.changed_fields):
        return None
    status = change.next.get("status")
    if change.kind == "incident":
        if change.is_create:
            return Topic.INCIDENT_CREATED
        return Topic.INCIDENT_RESOLVED if status == "resolved" else Topic.INCIDENT_STATUS_CHANGED
    if change.kind == "maintenance":
        return MAINTENANCE_TOPICS.get(status)
    return None


def status_label(status: str) -> str:
    return (status or "").replace("_", " ")


def notification_subject(topic: str, context: dict) -> str:
    """The subject line; one line whatever the title holds (a header may not contain a newline)."""
    title = " ".join(str(context.get("title", "")).split())
    return SUBJECTS[topic].format(title=title, status=status_label(context.get("status")))
