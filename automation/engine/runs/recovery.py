"""Recovery of lost wake-ups: runs and branches whose lease lapsed, that nobody started, or whose wait ended
while their resume message was lost, re-sent by the beat sweeper and then held back for a while."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ...entities.delivery import hold_back, send_wakeup
from ...models import BranchStatus, Run, RunBranch, RunStatus, RunStep, Wait
from .wakeups import wakeup_task


def recover_stalled_runs(*, limit: int = 200) -> int:
    """Re-send lost wake-ups: running runs whose lease expired, pending runs nobody started, and waiting
    runs whose wait already ended (their resume message was lost). Held back after each re-send."""
    now = timezone.now()
    due = Run.objects.filter(Q(resend_after__isnull=True) | Q(resend_after__lte=now)) \
        .only("id", "created_at", "lease_expires_at").order_by("created_at")
    grace = now - timedelta(seconds=settings.CHECKSTACK_OUTBOX_GRACE_SECONDS)
    ended = ended_waits(grace=grace, of_branches=False)
    advance, resume = wakeup_task("advance_run"), wakeup_task("resume_run")
    # (task, stalled runs, since when each has been stalled)
    stalls = [
        (advance, due.filter(status=RunStatus.RUNNING, lease_expires_at__lt=now), "lease_expires_at"),
        (advance, due.filter(status=RunStatus.PENDING, created_at__lt=grace), "created_at"),
        (resume, due.filter(status=RunStatus.WAITING, pk__in=ended.values("run_id")), "created_at"),
    ]
    return resend_stalls(Run, stalls, limit=limit, now=now, key=str) + recover_stalled_branches(limit=limit)


def recover_stalled_branches(*, limit: int = 200) -> int:
    """Re-send lost branch wake-ups: running branches whose lease expired, pending ones nobody started,
    waiting ones whose wait already ended. Held back after each re-send, as runs are."""
    now = timezone.now()
    grace = now - timedelta(seconds=settings.CHECKSTACK_OUTBOX_GRACE_SECONDS)
    due = RunBranch.objects.filter(run__status__in=[RunStatus.RUNNING, RunStatus.WAITING]) \
        .filter(Q(resend_after__isnull=True) | Q(resend_after__lte=now)) \
        .only("id", "created_at", "lease_expires_at").order_by("created_at")
    ended = ended_waits(grace=grace, of_branches=True)
    advance, resume = wakeup_task("advance_branch"), wakeup_task("resume_branch")
    stalls = [
        (advance, due.filter(status=BranchStatus.RUNNING, lease_expires_at__lt=now), "lease_expires_at"),
        (advance, due.filter(status=BranchStatus.PENDING, created_at__lt=grace), "created_at"),
        (resume, due.filter(status=BranchStatus.WAITING, pk__in=ended.values("branch_id")), "created_at"),
    ]
    return resend_stalls(RunBranch, stalls, limit=limit, now=now, key=int)


def ended_waits(*, grace, of_branches: bool):
    """Waits (of runs, or of branches) that ended a while ago while their step is still parked on them."""
    parked_step = RunStep.objects.filter(run=OuterRef("run"), path=OuterRef("path"), iteration=OuterRef("iteration"),
                                         status="waiting")
    return Wait.objects.filter(outcome__isnull=False, created_at__lt=grace, branch__isnull=not of_branches) \
        .filter(Exists(parked_step))


def resend_stalls(model, stalls, *, limit: int, now, key) -> int:
    """Re-send each (task, stalled rows, since) stall's wake-ups (`key(pk)` the task's argument), then hold
    the rows back; how many were re-sent."""
    resent = 0
    for task, rows, since in stalls:
        woken = [row for row in rows[:limit] if send_wakeup(task, key(row.pk))]
        hold_back(model, woken, since=since, now=now)
        resent += len(woken)
    return resent
