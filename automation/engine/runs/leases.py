"""One lease model for runs and branches: a worker holds a row (a run, or a branch of a `parallel` step)
under a lease that expires and a fencing token that each new holder raises.

Every write a worker makes for a row it holds first re-reads the row under lock and checks its token: a
worker that lost its lease (paused, partitioned, presumed dead) can no longer change anything.
"""

import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings

from ...models import Run, RunStatus
from ...sql.rows import update_instance

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
# The lease owner of a run parked at a `parallel` step: its branches hold leases of their own (branches.py).
PARALLEL_OWNER = "parallel branches"
# What a run's fence reads: its documents stay unread on every step.
FENCE_FIELDS = ("id", "status", "fencing_token", "lease_expires_at", "bucket")


class LeaseLost(Exception):
    """This worker no longer holds the run (its lease was taken over, or the run was cancelled)."""


@dataclass(frozen=True)
class Claim:
    run_id: str
    token: int
    # The run as claimed (with its automation and run_as user), and whether it had never started: a
    # first start has no step rows to replay.
    run: Run | None = field(default=None, compare=False, repr=False)
    first_start: bool = False


def lease_seconds() -> int:
    return settings.CHECKSTACK_RUN_LEASE_SECONDS


def step_budget_seconds() -> float:
    """How long one step's outside call may take, counted from a full renewal of the lease.

    A quarter of the lease is kept back: for writing the step's outcome, and for the clocks of the worker
    that renewed the lease and of the one that would find it lapsed not agreeing to the second.
    """
    return lease_seconds() * 0.75


def take_lease(row, now) -> None:
    """Make this worker the holder of a run's (or a branch's) lease, under a new fencing token; saves."""
    row.status = RunStatus.RUNNING  # (a branch's `running` is the same word)
    row.started_at = row.started_at or now
    row.lease_owner = WORKER_ID
    row.lease_expires_at = now + timedelta(seconds=lease_seconds())
    row.fencing_token += 1
    row.attempts += 1
    row.resend_after = None  # a wake-up reached a worker: a later stall is re-sent without delay
    update_instance(row, ("status", "started_at", "lease_owner", "lease_expires_at", "fencing_token", "attempts",
                          "resend_after"))


def renew_lease(row, now, *, renew: bool = False) -> None:
    """On a row this worker holds, locked: renew its lease once less than half of it is left, often enough
    that a live worker never loses it without an UPDATE on every step write (`renew`: in full now)."""
    if renew or row.lease_expires_at is None or row.lease_expires_at - now < timedelta(seconds=lease_seconds() / 2):
        row.lease_expires_at = now + timedelta(seconds=lease_seconds())
        update_instance(row, ("lease_expires_at",))


def release_to_wait(row, waiting_status: str) -> None:
    """On a held row, locked: park it waiting and free its lease (a timer or an event resumes it)."""
    row.status = waiting_status
    row.lease_owner, row.lease_expires_at = "", None
    row.attempts = 0  # it made progress: crashes before the wait do not count against its future
    update_instance(row, ("status", "lease_owner", "lease_expires_at", "attempts"))
