"""Reads of incidents."""

from django.db.models import QuerySet

from automation.entities.values import id_list

from .models import Incident, IncidentStatus


def incident_list() -> QuerySet[Incident]:
    """Incidents newest first, with their system links and updates prefetched (no N+1 in lists)."""
    return Incident.objects.prefetch_related("system_links", "updates").order_by("-created_at", "-id")


def incidents_open() -> QuerySet[Incident]:
    """Incidents not resolved, newest first."""
    return incident_list().exclude(status=IncidentStatus.RESOLVED)


def incidents_with_system(*, system_id) -> QuerySet[Incident]:
    """Incidents that still list this system, in id order (a stable lock order for bulk cleanup)."""
    return Incident.objects.filter(system_links__system_id=system_id).order_by("id")


def incident_system_ids(incident: Incident) -> list[str]:
    """Sorted system ids of an incident, from its prefetched links when present."""
    return id_list(link.system_id for link in incident.system_links.all())
