"""Routing's firings: Stage 1 (engine/listeners.py) for the trigger events of a routing transaction, then
Stage 2 for each firing that passed its filter: the gates after it, the concurrency mode, the run row.

Runs inside the routing transaction of the change event, so a run exists if and only if its change was
routed; the unique constraint on (automation, firing, trigger) makes a second routing create nothing.
"""

import logging
from dataclasses import replace
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from ...columns import fit_key, fit_text
from ...db_errors import is_transient
from ...models import ACTIVE_STATUSES, Automation, ChangeEvent, Run, RunStatus
from ...sql.firing import waiting_on_flags
from ...sql.rows import insert_instances
from ...sql.runs import bucket_counts as sql_bucket_counts
from ..runs.claims import run_cancel
from ..runs.leases import Claim
from ..runs.wakeups import claim_on_create, wake_run
from ..scope import firing_scope
from ..waiting.trigger_waits import resume_waiting_for
from ..waiting.waits import wake_readers_of
from .dwells import dwell_arm, dwells_break_on, event_still_holds
from .firings import Firing
from .gates import (
    REASON_NO_LONGER_HOLDS,
    STOPPED_BY_REPLAY,
    STOPPED_BY_ROUTING,
    Bucket,
    GateFailed,
    ModeDecision,
    error_text,
    failing_as,
    filter_gate,
)
from .listeners import Arrival, FilterErrors, Passed, firings_of
from .pipeline import GateFacts, Judged, gates_judge
from .windows import window_count

logger = logging.getLogger(__name__)


@transaction.atomic(savepoint=False)
def route_trigger_event(*, event: str, payload: dict, context_key: str | None, firing_key: str, actor: str,
                        depth: int = 0, occurred_at: datetime | None = None) -> list[Run]:
    """Stage 1 and 2 for one trigger event outside a change (tests, tools): the runs it created."""
    [passed] = firings_of([Arrival(event=event, payload=payload, actor=actor)])
    firings = [_firing(p, event=event, payload=payload, context_key=context_key, firing_key=firing_key,
                       actor=actor, depth=depth, occurred_at=occurred_at or timezone.now()) for p in passed]
    return [run for firing in firings if (run := past_filter(firing)) is not None]


def _firing(passed: Passed, **fields) -> Firing:
    return Firing(automation=passed.automation, trigger=passed.trigger, **fields)


def on_routed_changes(batch: list) -> list:
    """The routing hook, once per routing transaction with its changes `[(change, derived events)]` oldest
    first: Stage 1 for all their trigger events at once (its locks taken together). Returns per change the
    function delivery calls inside that change's savepoint with its stored trigger event rows: wake waits,
    break dwells, then that change's firings — a dwell its change breaks is broken before the change fires,
    and one an earlier change armed can be broken by a later one.
    """
    arrivals = [[Arrival(event=d.event, payload=d.payload, actor=change.actor) for d in derived]
                for change, derived in batch]
    passed = iter(firings_of([arrival for each in arrivals for arrival in each]))
    return [partial(_apply_change, change, [next(passed) for _ in derived]) for change, derived in batch]


def _apply_change(change, fired_per_row: list, rows: list) -> None:
    readers, dwells, trigger_waits = waiting_on(change, [row.event for row in rows])
    if readers:
        wake_readers_of(kind=change.kind, entity_id=change.entity_id)
    if dwells:
        dwells_break_on(change)
    if trigger_waits:
        resume_waiting_for(rows)
    current = _current_state(change) if change.replayed else None
    for row, fired in zip(rows, fired_per_row, strict=True):
        for passed in fired:
            firing = _firing(passed, event=row.event, payload=row.payload, context_key=row.context_key,
                             firing_key=change.change_id, actor=change.actor, depth=change.depth,
                             occurred_at=change.occurred_at)
            if change.replayed and not event_still_holds(passed.trigger, row.event, change.entity_id, current):
                fire_isolated(firing, skipped=REASON_NO_LONGER_HOLDS, stopped_by=STOPPED_BY_REPLAY)
            else:
                fire_isolated(firing)


def _current_state(change) -> dict | None:
    """The entity's state after its latest change (a replay is decided on what holds now, not then)."""
    latest = ChangeEvent.objects.filter(kind=change.kind, entity_id=change.entity_id).order_by("-id").first()
    return latest.next if latest is not None else None


def fire_isolated(firing: Firing, *, skipped: str | None = None, stopped_by: str = "") -> Run | None:
    """Stage 2 for one firing in a savepoint of its own: whatever its gates or writes raise (a value too long
    for its column, MemoryError, RecursionError) rolls back this firing only and is recorded as its skipped
    run, with the gate that failed. Transient database errors are raised: the whole attempt is retried."""
    try:
        with transaction.atomic():
            return record_firing(firing, skipped=skipped, stopped_by=stopped_by) if skipped else past_filter(firing)
    except Exception as exc:
        if is_transient(exc):
            raise
        reason = str(exc) if isinstance(exc, GateFailed) else f"error in routing: {error_text(exc)}"
        stopped_by = exc.gate if isinstance(exc, GateFailed) else STOPPED_BY_ROUTING
        logger.warning("firing of %s on %s failed: %s", firing.automation.pk, firing.firing_key, reason)
    try:
        with transaction.atomic():
            return record_firing(firing, skipped=reason, stopped_by=stopped_by)
    except Exception as exc:
        if is_transient(exc):
            raise
        logger.exception("could not record the failed firing of %s on %s", firing.automation.pk, firing.firing_key)
        return None


def waiting_on(change, events: list[str]) -> tuple[bool, bool, bool]:
    """Whether anything may wait on this change: a wait_until that read its entity, a dwell armed on it,
    an open wait_for_trigger on one of its events. One statement; each flag is a superset of what the
    lookup it guards then selects, so a false one only skips a lookup that would have found nothing."""
    return waiting_on_flags(kind=change.kind, entity_id=str(change.entity_id), events=events)


# Joins the routing transaction without a savepoint (a duplicate firing is an ON CONFLICT no-op, not an
# error to roll back); a transaction of its own when called alone (schedules).
@transaction.atomic(savepoint=False)
def fire(firing: Firing) -> Run | None:
    """Stage 2 for one firing outside routing (schedules): lock its automation, then every gate in order.

    A filter miss writes nothing; a filter error is counted on the trigger's index row.
    """
    firing = with_locked_automation(firing)
    if firing is None or not firing.automation.enabled:
        return None  # deleted or disabled since the index was read
    gate = filter_gate(firing.trigger, _scope(firing))
    if gate.error is not None:
        errors = FilterErrors()
        errors.add(firing.automation.pk, firing.trigger["id"], gate.error)
        errors.record()
    return past_filter(firing) if gate.passed else None


def past_filter(firing: Firing) -> Run | None:
    """The gates after the filter, on a firing whose automation this transaction holds locked and current:
    loop guard (a skipped run) → window (counts; a held firing writes only its count) → dwell → the rest."""
    return _act_on(firing, gates_judge(judged_of(firing), RowFacts(firing), first="loop guard"))


def after_time_gates(firing: Firing) -> Run | None:
    """The gates after window and dwell (a dwell's deadline): conditions, then the concurrency mode."""
    return _act_on(firing, gates_judge(judged_of(firing), RowFacts(firing), first="conditions"))


def _act_on(firing: Firing, verdict) -> Run | None:
    """Write what the gates decided: the run, a skipped record naming its gate, or nothing (a window hold,
    an armed dwell, whose timer continues from here at its deadline)."""
    stopped = verdict.stopped_by
    if stopped is None:
        with failing_as("mode"):
            return start_by_mode(firing, verdict.mode)
    if stopped.gate == "window" or (stopped.gate == "dwell" and verdict.dwell_seconds is not None):
        return None
    return record_firing(firing, skipped=stopped.detail, stopped_by=stopped.gate)


def judged_of(firing: Firing) -> Judged:
    automation = firing.automation
    return Judged(trigger=firing.trigger, scope=_scope(firing), context_key=firing.context_key, depth=firing.depth,
                  at=firing.occurred_at or timezone.now(), conditions=automation.document.get("conditions", []),
                  mode=automation.mode, max_runs=automation.max_runs)


class RowFacts(GateFacts):
    """The gates' facts from the rows this transaction holds under its automation's lock: a window
    occurrence written and counted, a dwell armed, the bucket's runs counted."""

    def __init__(self, firing: Firing):
        self.firing = firing

    def window(self, judged, key):
        return window_count(self.firing, key)

    def dwell(self, judged, gate, seconds):
        if seconds is not None:
            dwell_arm(self.firing, seconds)
        return gate

    def bucket(self, judged):
        return bucket_counts(bucket_of(self.firing.automation, self.firing.context_key))


def _scope(firing: Firing) -> dict:
    return firing_scope(trigger_id=firing.trigger["id"], event=firing.event, actor=firing.actor,
                        payload=firing.payload)


def with_locked_automation(firing: Firing) -> Firing | None:
    """The firing with its automation re-read under lock: serialises this automation's firing decisions
    (window counts, dwells, concurrency) and makes them on its current row. None if it was deleted."""
    # NO KEY UPDATE: runs and steps inserted meanwhile reference the automation (FOR KEY SHARE).
    locked = (Automation.objects.select_for_update(of=("self",), no_key=True).select_related("run_as")
              .filter(pk=firing.automation.pk).first())
    return None if locked is None else replace(firing, automation=locked)


def bucket_of(automation: Automation, context_key: str | None) -> str:
    if automation.concurrency_scope == "context_key":
        return f"{automation.pk}:{context_key or ''}"
    return str(automation.pk)


def start_by_mode(firing: Firing, decision: ModeDecision) -> Run | None:
    """Act on the concurrency mode's decision in the firing's bucket (passed: the automation row lock
    serialises the decisions)."""
    bucket = bucket_of(firing.automation, firing.context_key)
    if decision.cancel_active:
        for run in Run.objects.filter(bucket=bucket, status__in=ACTIVE_STATUSES):
            run_cancel(run=run, reason="restarted by a newer firing")
    # Behind an active or older run (queued) it waits its turn: only in an empty bucket can it start now.
    return record_firing(firing, bucket=bucket, startable=decision.start_now)


def bucket_counts(bucket: str) -> Bucket:
    """The bucket's active runs and, of them, the pending ones (the automation's lock keeps them still)."""
    active, pending = sql_bucket_counts(bucket=bucket)
    return Bucket(active=active, pending=pending)


def record_firing(firing: Firing, *, skipped: str | None = None, stopped_by: str = "", bucket: str | None = None,
                  startable: bool = False) -> Run | None:
    """Create the run (or skipped record, with the gate that stopped it); a duplicate firing creates nothing
    and returns None.

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
        actor=fit_text(Run, "actor", firing.actor),
        run_as=automation.run_as.get_username() if automation.run_as_id else "",
        context_key=fit_key(Run, "context_key", firing.context_key) if firing.context_key else firing.context_key,
        firing_key=fit_key(Run, "firing_key", firing.firing_key) if firing.firing_key else firing.firing_key,
        bucket=bucket or bucket_of(automation, firing.context_key),
        depth=firing.depth,
    )
    if skipped is not None:
        fields.update(status=RunStatus.SKIPPED, error=skipped, reason=fit_text(Run, "reason", skipped),
                      stopped_by=stopped_by, finished_at=timezone.now())
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
