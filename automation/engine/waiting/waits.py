"""Waiting runs: record what a wait is for, resolve it, and wake its run."""

from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Q

from ...columns import fit_key
from ...models import Automation, BranchStatus, Run, RunStatus, Timer, Wait, WaitRead
from ...sql.rows import lock_row
from ..runs.wakeups import wake_branch, wake_run_resume
from .timers import timer_set, timers_cancel


def parked(prefix: str = "") -> Q:
    """Waits whose waiter is parked on them: a waiting run, or a waiting branch of a `parallel`."""
    return (Q(**{f"{prefix}branch__isnull": True, f"{prefix}run__status": RunStatus.WAITING})
            | Q(**{f"{prefix}branch__status": BranchStatus.WAITING}))


def wake_waiter(wait: Wait) -> None:
    """After commit: wake whoever waits on this wait (its branch, or its run)."""
    if wait.branch_id is not None:
        transaction.on_commit(partial(wake_branch, wait.branch_id, resume=True), robust=True)
    else:
        transaction.on_commit(partial(wake_run_resume, wait.run_id), robust=True)


def wait_open(*, run, path: str, iteration: str, kind: str, deadline: datetime | None, event: str = "",
              context_key: str | None = None, timeout_kind: str = Timer.Kind.WAIT_TIMEOUT, branch=None) -> Wait:
    """The wait of a step, created once (with its deadline timer) however often the step is re-entered."""
    # Fitted as routing fits the trigger events' keys (the same hash for the same long key), so they match.
    context_key = None if context_key is None else fit_key(Wait, "context_key", str(context_key))
    wait, created = Wait.objects.get_or_create(
        run=run, path=path, iteration=iteration,
        defaults={"kind": kind, "event": event, "context_key": context_key, "deadline": deadline, "branch": branch},
    )
    if created and deadline is not None:
        timer_set(kind=timeout_kind, owner=wait.pk, due_at=deadline)
    return wait


def wait_resolve(wait: Wait, outcome: dict) -> bool:
    """Record how a wait ended and wake its run; False if it had ended already or its run is not waiting."""
    # Lock order: the automation, its run, then the wait, as deleting the automation takes them (its mutation
    # locks it, then its runs; its cascade deletes their waits). Wait and run first deadlocked with a delete.
    automation_id = Run.objects.filter(pk=wait.run_id).values_list("automation_id", flat=True).first()
    if automation_id is None or not automation_locked(automation_id):
        return False  # deleted meanwhile, with its runs and waits
    run = lock_row(Run, wait.run_id, fields=("status",))
    # The wait only (a branch is on the nullable side of an outer join); the run is locked above.
    wait = Wait.objects.select_for_update(of=("self",)).select_related("run", "branch").filter(pk=wait.pk).first()
    if run is None or wait is None or wait.outcome is not None or not waiter_parked(wait):
        return False
    wait.outcome = outcome
    wait.save(update_fields=["outcome"])
    WaitRead.objects.filter(wait=wait).delete()
    timers_cancel(owner=wait.pk)
    wake_waiter(wait)
    return True


def automation_locked(automation_id) -> bool:
    """Lock this automation before rows of its runs; False if it is gone. NO KEY UPDATE: as routing's firing
    lock, it serialises with deleting or editing the automation, never with its runs' step writes."""
    return Automation.objects.select_for_update(no_key=True).filter(pk=automation_id).values_list("pk").first() \
        is not None


def waiter_parked(wait: Wait) -> bool:
    """Is the run (or the branch) that opened this wait parked on it?"""
    if wait.branch_id is not None:
        return wait.branch.status == BranchStatus.WAITING
    return wait.run.status == RunStatus.WAITING


def wait_settle(wait: Wait, outcome: dict) -> None:
    """The running step itself saw its wait end: record it and drop what would wake it again."""
    wait.outcome = outcome
    wait.save(update_fields=["outcome"])
    WaitRead.objects.filter(wait=wait).delete()
    timers_cancel(owner=wait.pk)


def wait_record_reads(wait: Wait, reads) -> None:
    """Replace the entities whose changes wake this wait with those its condition just read."""
    WaitRead.objects.filter(wait=wait).delete()
    WaitRead.objects.bulk_create(WaitRead(wait=wait, kind=kind, entity_id=str(entity_id)) for kind, entity_id in reads)


def wake_readers_of(*, kind: str, entity_id: str) -> int:
    """A change of this entity: wake every run (or branch) waiting on a condition that read it."""
    waiters = set(
        WaitRead.objects.filter(parked("wait__"), kind=kind, entity_id=str(entity_id), wait__outcome__isnull=True)
        .values_list("wait__run_id", "wait__branch_id")
    )
    for run_id, branch_id in waiters:
        if branch_id is not None:
            transaction.on_commit(partial(wake_branch, branch_id, resume=True), robust=True)
        else:
            transaction.on_commit(partial(wake_run_resume, run_id), robust=True)
    return len(waiters)
