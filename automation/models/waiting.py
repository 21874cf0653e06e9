"""Durable time and waiting: timers, waits of runs, armed dwells and window counts."""

from django.db import models
from django.db.models import Q

from .automations import Automation
from .branches import RunBranch
from .runs import Run


class Timer(models.Model):
    """Something that must happen at `due_at`; fired once by the beat sweeper, dropped when its owner ends."""

    class Kind(models.TextChoices):
        RESUME = "resume"  # a delay ends
        WAIT_TIMEOUT = "wait_timeout"
        WAIT_RECHECK = "wait_recheck"  # time alone may make a wait_until condition true
        DWELL = "dwell"

    due_at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # A Wait's id (resume, wait_timeout, wait_recheck) or a Dwell's id (dwell). Not a foreign key: two
    # owner tables; resolving the wait or breaking the dwell cancels its unfired timers (timers_cancel).
    owner = models.CharField(max_length=100)
    fired_at = models.DateTimeField(null=True, blank=True)
    # Failed firings so far: a handler that raises leaves its timer unfired and due again later (timers.py).
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The sweeper: due timers not fired yet, soonest first.
            models.Index(fields=["due_at"], condition=Q(fired_at__isnull=True), name="timer_due"),
            models.Index(fields=["owner", "kind"], name="timer_owner"),
            # The retention purge: fired timers older than the runs' cutoff.
            models.Index(fields=["fired_at"], condition=Q(fired_at__isnull=False), name="timer_fired"),
        ]

    def __str__(self):
        return f"{self.kind} for {self.owner} at {self.due_at:%Y-%m-%d %H:%M:%S}"


class Wait(models.Model):
    """A run waiting at a step (wait_until or wait_for_trigger) and what may wake it."""

    class Kind(models.TextChoices):
        UNTIL = "until"
        TRIGGER = "trigger"
        DELAY = "delay"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="waits")
    # The branch of a `parallel` that waits, if any: its wake-up goes to that branch, not to the run.
    branch = models.ForeignKey(RunBranch, null=True, blank=True, on_delete=models.CASCADE, related_name="waits")
    path = models.CharField(max_length=500)
    iteration = models.CharField(max_length=100, blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # wait_for_trigger: the awaited event and context key.
    event = models.CharField(max_length=100, blank=True)
    context_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL: no context
    deadline = models.DateTimeField(null=True, blank=True)
    # Highest change-event (until) or derived-event (trigger) id seen when the wait last looked: anything
    # newer that it may have missed while parking is checked after the park commits.
    mark = models.BigIntegerField(default=0)
    # How it ended: {"completed": bool, "timed_out": bool, "payload": ...}; null while waiting.
    outcome = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "path", "iteration"], name="wait_once_per_step"),
        ]
        indexes = [
            # Trigger events look up the waits for their event and context key.
            models.Index(fields=["event", "context_key"], condition=Q(outcome__isnull=True), name="wait_event"),
        ]

    def __str__(self):
        return f"{self.kind} wait of run {self.run_id} at {self.path}"


class WaitRead(models.Model):
    """An entity a waiting wait_until condition read at its last evaluation: its changes wake the run."""

    wait = models.ForeignKey(Wait, on_delete=models.CASCADE, related_name="reads")
    kind = models.CharField(max_length=40)
    entity_id = models.CharField(max_length=64)

    class Meta:
        indexes = [
            # A routed change finds the waits it may wake; independent of unrelated waiting runs.
            models.Index(fields=["kind", "entity_id"], name="wait_read_entity"),
        ]

    def __str__(self):
        return f"{self.kind}:{self.entity_id} read by wait {self.wait_id}"


class Dwell(models.Model):
    """A `for:` dwell armed for (automation, trigger, context key); keeps its first deadline."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="dwells")
    trigger_id = models.CharField(max_length=100)
    context_key = models.CharField(max_length=64)
    event = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    actor = models.CharField(max_length=200)
    firing_key = models.CharField(max_length=100)
    depth = models.PositiveIntegerField(default=0)
    armed_at = models.DateTimeField()
    # The change-event id at arming: transitions after it decide whether the dwell was broken.
    armed_after_change = models.BigIntegerField(default=0)
    deadline = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "trigger_id", "context_key"], name="dwell_once"),
        ]
        # A change of an entity looks up the dwells armed on it.
        indexes = [models.Index(fields=["context_key"], name="dwell_context")]

    def __str__(self):
        return f"dwell {self.trigger_id} {self.context_key} until {self.deadline:%H:%M:%S}"


class WindowHit(models.Model):
    """One qualifying occurrence counted by a trigger's `window` gate."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="window_hits")
    trigger_id = models.CharField(max_length=100)
    partition_key = models.CharField(max_length=200)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            # The gate counts hits of one partition in the last N minutes; pruning deletes old ones.
            models.Index(fields=["automation", "trigger_id", "partition_key", "at"], name="window_hit_count"),
            # The retention purge: hits of partitions that fell silent (the gate prunes only the ones it counts).
            models.Index(fields=["at"], name="window_hit_at"),
        ]

    def __str__(self):
        return f"window hit {self.trigger_id} {self.partition_key} at {self.at:%H:%M:%S}"
