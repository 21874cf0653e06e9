"""Runs of automations, their steps and the artifacts steps produce."""

import uuid

from django.db import models
from django.db.models import Q

from .automations import Automation


class RunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


ACTIVE_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING, RunStatus.WAITING)
TERMINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.SKIPPED)


class Run(models.Model):
    """One firing of an automation: a run, or a `skipped` record saying why none started."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="runs")
    automation_version = models.PositiveIntegerField()
    document = models.JSONField()  # the version's document, as the run started with it
    trigger_id = models.CharField(max_length=100)
    event = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    actor = models.CharField(max_length=200)
    # The user the run acts as (its automation's run_as when it started), kept with the run for audit.
    run_as = models.CharField(max_length=150, blank=True)
    context_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL: no context
    # What fired it: "<change id>" for entity-derived events, "<tick>" for schedules; null for manual runs.
    firing_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 - NULL: manual, outside run_once_per_firing
    # Concurrency bucket: the automation, or the automation and context key.
    bucket = models.CharField(max_length=140)
    depth = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.PENDING)
    error = models.TextField(blank=True)
    # Why it ended as it did, when that is not an error: "condition not met", a skip's reason.
    reason = models.CharField(max_length=500, blank=True)
    # A skipped run: the gate that stopped it (engine.firing.gates.GATE_ORDER), or "replay" (a replayed
    # change whose event no longer holds) or "routing" (a failure outside the gates). Why reads it. A
    # database default too: rows inserted by hand-written SQL that predates the column stay valid.
    stopped_by = models.CharField(max_length=20, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Crash safety: the worker holding the lease, until when, and a token every write must still match.
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    fencing_token = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    # The stalled-run sweeper re-sends its wake-up no sooner than this (see entities.delivery.hold_back).
    resend_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One (automation, firing, trigger) gives one run or one skipped record, never two.
            models.UniqueConstraint(
                fields=["automation", "firing_key", "trigger_id"],
                condition=Q(firing_key__isnull=False),
                name="run_once_per_firing",
            ),
        ]
        indexes = [
            # Concurrency decisions and FIFO start: active runs of a bucket, oldest first.
            models.Index(
                fields=["bucket", "created_at"],
                condition=Q(status__in=["pending", "running", "waiting"]),
                name="run_active_bucket",
            ),
            # The lease sweeper: running runs whose lease expired.
            models.Index(fields=["lease_expires_at"], condition=Q(status="running"), name="run_lease"),
            models.Index(fields=["automation", "status", "created_at"], name="run_automation_status"),
            # The retention purge (ended runs older than the cutoff) and /metrics (runs ended in the last hour).
            models.Index(
                fields=["finished_at"],
                condition=Q(status__in=["succeeded", "failed", "cancelled", "skipped"]),
                name="run_ended",
            ),
        ]

    def __str__(self):
        return f"run {self.id} of {self.automation_id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class StepStatus(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    WAITING = "waiting"


class RunStep(models.Model):
    """One executed step of a run (per iteration inside a repeat)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    path = models.CharField(max_length=500)  # e.g. actions.1.choose.0.sequence.2
    iteration = models.CharField(max_length=100, blank=True, default="")  # e.g. "2" or "0.3" in nested repeats
    step_id = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=30)
    status = models.CharField(max_length=20, choices=StepStatus.choices)
    attempts = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "path", "iteration"], name="step_once_per_iteration"),
        ]

    def __str__(self):
        return f"{self.path}[{self.iteration}] {self.status}"


class Artifact(models.Model):
    """Something a step produced (an incident it opened), for later steps and runs to consume."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="artifacts")
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="artifacts")
    type = models.CharField(max_length=60)
    step_id = models.CharField(max_length=100)
    data = models.JSONField(default=dict)
    context_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL: no context
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Consume from an earlier run: newest open artifact of a type per automation and context key.
            models.Index(
                fields=["automation", "type", "context_key", "-id"],
                condition=Q(closed_at__isnull=True),
                name="artifact_open",
            ),
        ]

    def __str__(self):
        return f"{self.type} from {self.step_id}"
