"""The branches of a `parallel` step: each an independent cursor of its run, with its own lease and token."""

from django.db import models
from django.db.models import Q

from .runs import Run


class BranchStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    FORKED = "forked"  # parked at a nested `parallel`: its own branches hold the leases
    SUCCEEDED = "succeeded"
    STOPPED = "stopped"  # a `stop` without error (or a false `condition`) ended this branch only
    FAILED = "failed"
    CANCELLED = "cancelled"  # its run was cancelled, or a sibling failed first


OPEN_BRANCH_STATUSES = (BranchStatus.PENDING, BranchStatus.RUNNING, BranchStatus.WAITING, BranchStatus.FORKED)


class RunBranch(models.Model):
    """One branch of a `parallel` step of a run, walked by any worker independently of its siblings.

    Every write for a branch locks its run row first (the run's fence: a cancel bumps the run's token, and
    `run_token` no longer matches), then the branch row (its own fence: `fencing_token`).
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="branches")
    # The cursor that forked it: the run (null) or an enclosing branch (a `parallel` inside a branch).
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    path = models.CharField(max_length=500)  # the `parallel` step's path, e.g. actions.2
    iteration = models.CharField(max_length=100, blank=True, default="")  # the `parallel` step's iteration
    index = models.PositiveSmallIntegerField()  # which branch of the step
    status = models.CharField(max_length=20, choices=BranchStatus.choices, default=BranchStatus.PENDING)
    run_token = models.PositiveIntegerField()  # the run's fencing token at the fork
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    fencing_token = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    # A sibling failed: start no new step (the one under way may finish).
    halted = models.BooleanField(default=False)
    # The run's scope at the fork: {"variables", "artifacts" (ids), "resume", "wait", "repeat"}.
    scope = models.JSONField(default=dict)
    # What it leaves for the join: {"variables": set in the branch, "artifacts": ids produced in it}.
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    resend_after = models.DateTimeField(null=True, blank=True)  # see entities.delivery.hold_back

    class Meta:
        ordering = ["path", "iteration", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "path", "iteration", "index"], name="branch_once_per_step"),
        ]
        indexes = [
            # The join and the run's status: the open branches of a run.
            models.Index(fields=["run", "parent"], condition=Q(status__in=["pending", "running", "waiting", "forked"]),
                         name="branch_open"),
            # The lease sweeper: running branches whose lease expired.
            models.Index(fields=["lease_expires_at"], condition=Q(status="running"), name="branch_lease"),
        ]

    def __str__(self):
        return f"branch {self.index} of {self.path} in run {self.run_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_BRANCH_STATUSES
