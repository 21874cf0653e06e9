import uuid

from django.db import models
from django.db.models import Q

from automation.entities.tracked import TrackedModel
from automation.entities.tracked_links import TrackedLink
from catalog.models import System


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    FIXING = "fixing"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class IncidentSeverity(models.TextChoices):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class Incident(TrackedModel):
    """An incident affecting some systems; its status, severity and systems are tracked state."""

    entity_kind_name = "incident"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING)
    severity = models.CharField(max_length=20, choices=IncidentSeverity.choices, default=IncidentSeverity.MAJOR)
    systems = models.ManyToManyField(System, through="IncidentSystem", related_name="incidents", blank=True)
    suppress_notifications = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The API list filtered by status, and open=true (status != resolved), newest first.
            models.Index(fields=["status", "created_at"], name="incident_status_created"),
            # The API list filtered by severity.
            models.Index(fields=["severity", "created_at"], name="incident_severity_created"),
            # The status page and dwells: open incidents only.
            models.Index(
                fields=["created_at"], condition=~Q(status="resolved"), name="incident_open_created"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=IncidentStatus.values), name="incident_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=IncidentSeverity.values), name="incident_severity_valid"
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status != IncidentStatus.RESOLVED


class IncidentSystem(TrackedLink):
    """A system an incident affects; part of the incident's tracked `system_ids`."""

    tracked_owner = "incident"
    tracked_by = "incidents.services.incident_update(system_ids=...)"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="system_links")
    # No cascade and no database constraint, on purpose: deleting a system must not silently delete these
    # rows (that would change incidents' tracked `system_ids` outside the mutation service). The
    # `incidents.drop_deleted_system` subscriber removes them through the service when it sees the tombstone.
    system = models.ForeignKey(System, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    class Meta(TrackedLink.Meta):
        constraints = [
            models.UniqueConstraint(fields=["incident", "system"], name="incident_system_once"),
        ]
        indexes = [
            # The API `system` filter and the deleted-system cleanup look incidents up by system.
            models.Index(fields=["system"], name="incident_system_by_system"),
        ]

    def __str__(self):
        return f"{self.incident_id} → {self.system_id}"


class IncidentUpdate(models.Model):
    """A timeline entry of an incident: a message, optionally flipping its status."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    message = models.TextField()
    status_change = models.CharField(max_length=20, choices=IncidentStatus.choices, null=True, blank=True)  # noqa: DJ001 - NULL: no change
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # An incident's timeline, newest first (API, admin, the status page's latest update).
            models.Index(fields=["incident", "-created_at"], name="incident_update_timeline"),
        ]

    def __str__(self):
        return self.message[:60]
