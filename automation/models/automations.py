"""Automations: the current document, its kept versions, and the Stage 1 trigger index."""

import uuid

from django.conf import settings
from django.db import models

from ..entities.tracked import TrackedModel


class Mode(models.TextChoices):
    SINGLE = "single"
    QUEUED = "queued"
    RESTART = "restart"
    PARALLEL = "parallel"


class ConcurrencyScope(models.TextChoices):
    AUTOMATION = "automation"
    CONTEXT_KEY = "context_key"


class Automation(TrackedModel):
    """An automation document; the columns mirror the fields routing needs without parsing it."""

    entity_kind_name = "automation"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.SINGLE)
    concurrency_scope = models.CharField(
        max_length=20, choices=ConcurrencyScope.choices, default=ConcurrencyScope.AUTOMATION
    )
    max_runs = models.PositiveIntegerField(default=10)
    document = models.JSONField()
    version = models.PositiveIntegerField(default=1)
    managed_by = models.CharField(max_length=40, blank=True, default="")
    run_as = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class AutomationVersion(models.Model):
    """The document of one version, kept so a run keeps the version it started with."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    document = models.JSONField()
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["automation", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["automation", "version"], name="automation_version_unique"),
        ]

    def __str__(self):
        return f"{self.automation_id} v{self.version}"


class AutomationTrigger(models.Model):
    """Stage 1's index: one row per trigger of each automation, looked up by event id."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="trigger_index")
    event = models.CharField(max_length=100)
    trigger_id = models.CharField(max_length=100)
    # Copied from the automation so the lookup needs no join to skip disabled ones.
    enabled = models.BooleanField(default=True)
    # The value a payload must carry for the filter to pass (engine/trigger_index.py); null: read for every
    # change of the event. `index_field` (`in:<field>:*`, membership keys only) is what a payload whose field
    # is a string yields, since Jinja's `in` on a string matches any substring: such a payload reads every
    # membership row on that field. Two columns so both lookups are equality on an index.
    index_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 - NULL: the trigger has no index key
    index_field = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 - NULL: no index field
    # A filter that errors writes no row per change: it is counted here (one UPDATE, no automation lock).
    filter_errors = models.PositiveIntegerField(default=0)
    last_filter_error = models.CharField(max_length=500, blank=True, default="")
    last_filter_error_at = models.DateTimeField(null=True, blank=True)
    # Schedules only: the latest tick decided (fired, filtered out, held or skipped), written in the firing's
    # transaction. A tick at or before it is done, whatever retention has deleted since (engine/schedules.py);
    # carried over when an edit rebuilds the index rows.
    last_tick = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "trigger_id"], name="automation_trigger_unique"),
        ]
        indexes = [
            # Stage 1 (engine/listeners.py): the enabled rows of the change's events whose key is null or among
            # the payload's keys; cost follows the matching automations, not all listeners of the event.
            models.Index(fields=["event", "index_key"], condition=models.Q(enabled=True),
                         name="trigger_index_event_key"),
            # The same query's `index_field IN (...)` arm: membership rows read by a string-valued field.
            models.Index(fields=["event", "index_field"],
                         condition=models.Q(enabled=True, index_field__isnull=False),
                         name="trigger_index_event_field"),
        ]

    def __str__(self):
        return f"{self.event} → {self.automation_id}"
