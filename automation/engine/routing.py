"""Stage 1 (which automations listen to an event) and Stage 2 (gates, concurrency mode, the run row).

Runs inside the routing transaction of the change event, so a run exists if and only if its change was
routed; the unique constraint on (automation, firing, trigger) makes a second routing create nothing.
"""

import logging
from dataclasses import dataclass, replace
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..expressions.evaluate import ExpressionError, is_true
from ..models import ACTIVE_STATUSES, Automation, AutomationTrigger, Dwell, Mode, Run, RunStatus, Wait, WaitRead
from ..row_sql import insert_instances
from .conditions import conditions_hold
from .durations import DurationError, duration_seconds
from .dwells import dwell_arm, dwells_break_on
from .lifecycle import Claim, claim_on_create, run_cancel, wake_run
from .scope import firing_scope
from .trigger_waits import resume_waiting_for
from .waits import wake_readers_of
from .windows import window_gate

logger = logging.getLogger(__name__)

REASON_LOOP = "automation loop"
REASON_FILTER = "filter did not match"
REASON_CONDITIONS = "conditions not met"
REASON_ACTIVE = "a run is already active (mode single)"
REASON_QUEUE_FULL = "queue is full (mode queued)"
REASON_MAX_RUNS = "max_runs reached (mode parallel)"


@dataclass(frozen=True)
class Firing:
    """A trigger event reaching one trigger of one automation."""

    automation: Automation
    trigger: dict  # the trigger's entry in the document
    event: str
    payload: dict
    context_key: str | None
    firing_key: str | None  # change id / schedule tick; None for manual runs
    actor: str
    depth: int = 0


@transaction.atomic(savepoint=False)
def route_trigger_event(*, event: str, payload: dict, context_key: str | None, firing_key: str, actor: str,
                        depth: int = 0) -> list[Run]:
    """Stage 1: every enabled automation with a trigger on `event`, found through the index."""
    return _fire_listeners(listeners_of([event]).get(event, []), event=event, payload=payload,
                           context_key=context_key, firing_key=firing_key, actor=actor, depth=depth)


def listeners_of(events: list[str]) -> dict[str, list[AutomationTrigger]]:
    """The index rows of the enabled triggers on these events, by event: one query however many events.

    Their automations are locked here, all at once and in primary-key order (the caller's transaction holds
    them): two changes routed at once that fire the same automations, in whatever event order, cannot
    deadlock on them.
    """
    found = {}
    rows = (AutomationTrigger.objects.filter(event__in=events, enabled=True).select_related("automation__run_as")
            .select_for_update(of=("automation",)).order_by("automation_id", "id"))
    for row in rows:
        found.setdefault(row.event, []).append(row)
    return found


def _fire_listeners(index: list[AutomationTrigger], *, event: str, **firing) -> list[Run]:
    runs = []
    for row in index:
        automation = row.automation
        trigger = next((t for t in automation.document["triggers"] if t["id"] == row.trigger_id), None)
        if trigger is None:
            continue
        # listeners_of() read the automation under lock in this transaction: it is current and held.
        run = fire(Firing(automation=automation, trigger=trigger, event=event, **firing), automation_locked=True)
        if run is not None:
            runs.append(run)
    return runs


def on_routed_change(change, trigger_rows) -> None:
    """The routing hook, inside the routing transaction: wake waits, break dwells, then Stage 1.

    The change's trigger events share one lookup of the waits and one of the index; one probe first says
    which of the three kinds of waiting (readers, dwells, trigger waits) there is anything of to look up.
    """
    readers, dwells, trigger_waits = waiting_on(change, [row.event for row in trigger_rows])
    if readers:
        wake_readers_of(kind=change.kind, entity_id=change.entity_id)
    if dwells:
        dwells_break_on(change)
    if trigger_waits:
        resume_waiting_for(trigger_rows)
    listeners = listeners_of([row.event for row in trigger_rows])
    for row in trigger_rows:
        _fire_listeners(listeners.get(row.event, []), event=row.event, payload=row.payload,
                        context_key=row.context_key, firing_key=change.change_id, actor=change.actor,
                        depth=change.depth)


def waiting_on(change, events: list[str]) -> tuple[bool, bool, bool]:
    """Whether anything may wait on this change: a wait_until that read its entity, a dwell armed on it,
    an open wait_for_trigger on one of its events. One statement; each flag is a superset of what the
    lookup it guards then selects, so a false one only skips a lookup that would have found nothing."""
    entity_id = str(change.entity_id)
    checks = [(f"SELECT 1 FROM {WaitRead._meta.db_table} WHERE kind = %s AND entity_id = %s", [change.kind, entity_id]),
              (f"SELECT 1 FROM {Dwell._meta.db_table} WHERE context_key = %s", [entity_id])]
    if events:
        placeholders = ", ".join(["%s"] * len(events))
        checks.append((f"SELECT 1 FROM {Wait._meta.db_table} WHERE kind = %s AND outcome IS NULL "
                       f"AND event IN ({placeholders})", [Wait.Kind.TRIGGER.value, *events]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"EXISTS ({sql})" for sql, _ in checks),
                       [param for _, params in checks for param in params])
        flags = [bool(flag) for flag in cursor.fetchone()]
    return tuple(flags + [False] * (3 - len(flags)))


# Joins the routing transaction without a savepoint (a duplicate firing is an ON CONFLICT no-op, not an
# error to roll back); a transaction of its own when called alone (schedules, tests).
@transaction.atomic(savepoint=False)
def fire(firing: Firing, *, automation_locked: bool = False) -> Run | None:
    """Stage 2: apply the gates in order and record one run or one skipped run.

    `automation_locked`: the caller read the firing's automation under lock in this transaction.
    """
    if firing.depth > settings.CHECKSTACK_MAX_CHAIN_DEPTH:
        return record_firing(firing, skipped=REASON_LOOP)
    if not automation_locked:
        firing = with_locked_automation(firing)
        if firing is None:
            return None  # deleted since the index was read
    scope = firing_scope(trigger_id=firing.trigger["id"], event=firing.event, actor=firing.actor,
                         payload=firing.payload)
    gate = _filter_gate(firing, scope)
    if gate is not None:
        return record_firing(firing, skipped=gate)
    gate = window_gate(firing, scope)
    if gate is not None:
        return record_firing(firing, skipped=gate)
    if firing.trigger.get("for"):
        try:
            seconds = duration_seconds(firing.trigger["for"], scope)
        except (DurationError, ExpressionError) as exc:
            return record_firing(firing, skipped=f"dwell duration: {exc}")
        dwell_arm(firing, seconds)
        return None  # the dwell's timer continues from here at its deadline
    return after_time_gates(firing, scope)


def with_locked_automation(firing: Firing) -> Firing | None:
    """The firing with its automation re-read under lock: serialises this automation's firing decisions
    (window counts, dwells, concurrency) and makes them on its current row. None if it was deleted."""
    locked = (Automation.objects.select_for_update(of=("self",)).select_related("run_as")
              .filter(pk=firing.automation.pk).first())
    return None if locked is None else replace(firing, automation=locked)


def after_time_gates(firing: Firing, scope: dict) -> Run | None:
    """The gates after window and dwell: conditions, then the concurrency mode."""
    if not conditions_hold(firing.automation.document.get("conditions", []), scope):
        return record_firing(firing, skipped=REASON_CONDITIONS)
    return start_by_mode(firing)


def _filter_gate(firing: Firing, scope: dict) -> str | None:
    expression = firing.trigger.get("filter")
    if not expression:
        return None
    try:
        return None if is_true(expression, scope) else REASON_FILTER
    except ExpressionError as exc:
        return f"filter error: {exc}"


def bucket_of(automation: Automation, context_key: str | None) -> str:
    if automation.concurrency_scope == "context_key":
        return f"{automation.pk}:{context_key or ''}"
    return str(automation.pk)


def start_by_mode(firing: Firing) -> Run | None:
    """Apply the concurrency mode in the firing's bucket; the automation row lock serialises decisions."""
    automation = firing.automation  # locked and current (fire())
    bucket = bucket_of(automation, firing.context_key)
    active = Run.objects.filter(bucket=bucket, status__in=ACTIVE_STATUSES)
    mode = automation.mode
    if mode == Mode.SINGLE and active.exists():
        return record_firing(firing, skipped=REASON_ACTIVE)
    if mode == Mode.QUEUED:
        waiting, empty = _queue(active)
        if waiting >= automation.max_runs:
            return record_firing(firing, skipped=REASON_QUEUE_FULL)
        # Behind an active or older run it waits its turn: only in an empty bucket can it start now.
        return record_firing(firing, bucket=bucket, startable=empty)
    if mode == Mode.PARALLEL and active.count() >= automation.max_runs:
        return record_firing(firing, skipped=REASON_MAX_RUNS)
    if mode == Mode.RESTART:
        for run in active:
            run_cancel(run=run, reason="restarted by a newer firing")
    return record_firing(firing, bucket=bucket, startable=True)


def _queue(active) -> tuple[int, bool]:
    """(runs waiting their turn, whether the bucket has no active run at all).

    The pending runs wait, except the oldest when nothing has started yet: it is next.
    """
    pending = active.filter(status=RunStatus.PENDING).count()
    started = active.exclude(status=RunStatus.PENDING).exists()
    return (pending if started or pending == 0 else pending - 1), not (pending or started)


def record_firing(firing: Firing, *, skipped: str | None = None, bucket: str | None = None,
                  startable: bool = False) -> Run | None:
    """Create the run (or skipped record); a duplicate firing creates nothing and returns None.

    `startable`: nothing in its bucket stops the run from starting now, so it may be created claimed by
    this worker (lifecycle.claim_on_create) when the routing task is to advance it right after the commit.
    """
    automation = firing.automation
    version = automation.version
    fields = dict(
        automation=automation,
        automation_version=version,
        document=automation.document,
        trigger_id=firing.trigger["id"],
        event=firing.event,
        payload=firing.payload,
        actor=firing.actor,
        run_as=automation.run_as.get_username() if automation.run_as_id else "",
        context_key=firing.context_key,
        firing_key=firing.firing_key,
        bucket=bucket or bucket_of(automation, firing.context_key),
        depth=firing.depth,
    )
    if skipped is not None:
        fields.update(status=RunStatus.SKIPPED, error=skipped, reason=skipped, finished_at=timezone.now())
    elif startable:
        fields.update(claim_on_create())
    # The unique constraint on (automation, firing, trigger) turns a second firing into no row.
    inserted = insert_instances([Run(**fields)], skip_conflicts=True)
    if not inserted:
        logger.info("duplicate firing %s of %s ignored", firing.firing_key, automation.pk)
        return None
    run = inserted[0]
    if skipped is None:
        claim = Claim(run_id=str(run.pk), token=run.fencing_token, run=run, first_start=True) \
            if run.status == RunStatus.RUNNING else None
        transaction.on_commit(partial(wake_run, run.pk, claim=claim), robust=True)
    return run
