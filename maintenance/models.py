import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from automation.entities.tracked import TrackedModel
from automation.entities.tracked_links import TrackedLink
from catalog.models import System


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# Statuses a window never leaves by itself (beat and close leave them alone).
FINAL_STATUSES = frozenset({MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED})
OPEN_STATUSES = (MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS)

END_BEFORE_START = "End must be after start."


def validate_window_times(start_at, end_at) -> None:
    """Raise a ValidationError on `end_at` unless the window ends after it starts."""
    if start_at is not None and end_at is not None and end_at <= start_at:
        raise ValidationError({"end_at": [ValidationError(END_BEFORE_START, code="end_before_start")]})


class MaintenanceWindow(TrackedModel):
    """A planned period of work on some systems."""

    entity_kind_name = "maintenance"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=MaintenanceStatus.choices, default=MaintenanceStatus.SCHEDULED)
    systems = models.ManyToManyField(System, through="MaintenanceSystem", related_name="maintenance_windows")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    suppress_notifications = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_at__gt=F("start_at")),
                name="maintenance_end_after_start",
                violation_error_message=END_BEFORE_START,
            ),
        ]
        indexes = [
            # maintenance_advance_schedule: scheduled windows whose start has passed.
            models.Index(fields=["start_at"], condition=Q(status="scheduled"), name="maint_due_to_start"),
            # maintenance_advance_schedule: in-progress windows whose end has passed.
            models.Index(fields=["end_at"], condition=Q(status="in_progress"), name="maint_due_to_end"),
            # API/admin lists filtered by status (and `open`), newest start first; upcoming windows.
            models.Index(fields=["status", "start_at"], name="maint_status_start"),
            # Unfiltered lists and the admin date hierarchy, ordered by start.
            models.Index(fields=["start_at"], name="maint_start"),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        validate_window_times(self.start_at, self.end_at)


class MaintenanceSystem(TrackedLink):
    """A system a window covers; part of the window's tracked `system_ids`.

    The FK to System deliberately has no cascade and no database constraint: deleting a system leaves the
    link until the `maintenance.drop_deleted_system` subscriber removes it through the service, so the
    window's `system_ids` change is written as a transition like any other.
    """

    tracked_owner = "window"
    tracked_by = "maintenance.services.maintenance_update(system_ids=...)"

    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="system_links")
    system = models.ForeignKey(
        System, on_delete=models.DO_NOTHING, db_constraint=False, related_name="maintenance_links"
    )

    class Meta(TrackedLink.Meta):
        constraints = [
            # Also the index for a window's links (window first); the FK index on system serves
            # "windows covering this system" (API `system` filter, systems_in_maintenance, the subscriber).
            models.UniqueConstraint(fields=["window", "system"], name="maintenance_system_once"),
        ]

    def __str__(self):
        return f"{self.window_id} → {self.system_id}"


class MaintenanceUpdate(models.Model):
    """A message posted on a window, optionally changing its status."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="updates")
    message = models.TextField()
    status_change = models.CharField(max_length=20, choices=MaintenanceStatus.choices, null=True, blank=True)  # noqa: DJ001 - NULL: no change
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # A window's updates in order (API `updates`, admin inline, the status page's latest update).
            models.Index(fields=["window", "created_at"], name="maint_update_window_at"),
        ]

    def __str__(self):
        return self.message[:60]
