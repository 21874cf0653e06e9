"""Retention: delete rows older than their kind's setting, in short batches, never what is still needed.

Each kind has a purger: a function deleting at most `limit` of its oldest expired rows (with their
children) in one transaction. `purge_expired` takes one batch of each kind in turn until every kind is done
or the time budget is spent; beat calls it again (checkstack.purge_expired). Batches keep each DELETE
short, so routing and runs writing the same tables wait for no long lock.

Floors the settings cannot go below (a setting of 0 keeps a kind forever):
- change events: 7 days, the default backtest range (`automation_backtest --since 7d`), which also covers
  the windows' reach (a `window` gate spans at most 1440 minutes);
- transitions: 30 days, the longest dwell (`for:`) and `wait_until` horizon;
- window hits: 1440 minutes, the longest window.
Never purged at all, whatever the settings (each rule has a test in automation/tests/test_retention.py):
runs not ended; ended runs holding an open artifact a later run may consume (with their steps); unrouted
change events (`routed_at IS NULL`, which covers parked ones) and those with a pending delivery or newer
than the oldest armed dwell's arming (dwells re-read them when they fire); pending deliveries; the latest
transition of each entity field ("in status since"); unfired timers. Domain apps register their own
purgers (notifications keeps pending and sending emails) with `retention_register`, so this module imports
no domain app.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from .models import (
    TERMINAL_STATUSES,
    Artifact,
    ChangeEvent,
    DerivedTriggerEvent,
    Dwell,
    Run,
    RunStep,
    SubscriptionDelivery,
    Timer,
    Transition,
    Wait,
    WaitRead,
    WindowHit,
)

CHANGES_FLOOR = timedelta(days=7)  # the default backtest range; covers the longest window (1440 min) too
TRANSITIONS_FLOOR = timedelta(days=30)  # the longest dwell
WINDOW_HITS_FLOOR = timedelta(minutes=1440)  # the longest window


@dataclass(frozen=True)
class Purger:
    """One kind of row: its days setting, its floor, and a function deleting one batch (returns the count)."""

    name: str
    setting: str
    purge_batch: Callable[..., int]  # (*, cutoff: datetime, limit: int) -> head rows deleted
    floor: timedelta = timedelta(0)


_purgers: dict[str, Purger] = {}


def retention_register(purger: Purger) -> None:
    """Add a kind to the purge (domain apps call this from AppConfig.ready)."""
    _purgers[purger.name] = purger


def retention_cutoff(purger: Purger, *, now: datetime) -> datetime | None:
    """Rows of this kind older than this may go; None: the kind is kept forever (setting 0)."""
    days = getattr(settings, purger.setting)
    if days <= 0:
        return None
    return now - max(timedelta(days=days), purger.floor)


@dataclass
class PurgeResult:
    deleted: dict[str, int] = field(default_factory=dict)  # head rows per kind (runs, not their steps)
    finished: bool = True  # False: the budget ran out with expired rows left (the next tick goes on)


def purge_expired(*, now: datetime | None = None, batch: int | None = None,
                  budget_seconds: float | None = None) -> PurgeResult:
    """Delete expired rows of every kind, one batch of each in turn, until done or out of time."""
    now = now or timezone.now()
    batch = batch or settings.CHECKSTACK_RETENTION_BATCH
    budget = settings.CHECKSTACK_RETENTION_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    result = PurgeResult()
    left = [(p, cutoff) for p in _purgers.values() if (cutoff := retention_cutoff(p, now=now)) is not None]
    while left:
        if time.monotonic() >= deadline:
            result.finished = False
            break
        purger, cutoff = left.pop(0)
        with transaction.atomic():  # one short transaction per batch
            count = purger.purge_batch(cutoff=cutoff, limit=batch)
        result.deleted[purger.name] = result.deleted.get(purger.name, 0) + count
        if count >= batch:
            left.append((purger, cutoff))  # more may remain: its next batch after the other kinds'
    return result


def _batch_ids(queryset, *, order: str, limit: int) -> list:
    # Rows another transaction holds are skipped, not waited for: they go in a later batch.
    return list(queryset.select_for_update(skip_locked=True).order_by(order).values_list("pk", flat=True)[:limit])


def _purge_oldest(queryset, *, order: str, limit: int) -> int:
    """Delete the oldest `limit` rows of a queryset of a table no other table references."""
    ids = _batch_ids(queryset, order=order, limit=limit)
    queryset.model.objects.filter(pk__in=ids).delete()
    return len(ids)


def purge_runs(*, cutoff: datetime, limit: int) -> int:
    """Ended runs finished before the cutoff, with their steps, waits and closed artifacts.

    A run holding an open artifact is kept whole: a later run of its automation may consume the artifact,
    and the run and its steps say where it came from.
    """
    open_artifact = Artifact.objects.filter(run=OuterRef("pk"), closed_at__isnull=True)
    ids = _batch_ids(  # index run_ended
        Run.objects.filter(status__in=TERMINAL_STATUSES, finished_at__lt=cutoff).exclude(Exists(open_artifact)),
        order="finished_at", limit=limit)
    if not ids:
        return 0
    WaitRead.objects.filter(wait__run_id__in=ids).delete()
    Wait.objects.filter(run_id__in=ids).delete()
    RunStep.objects.filter(run_id__in=ids).delete()
    Artifact.objects.filter(run_id__in=ids).delete()
    Run.objects.filter(pk__in=ids).delete()
    return len(ids)


def purge_timers(*, cutoff: datetime, limit: int) -> int:
    """Timers fired before the cutoff (unfired ones are never purged)."""
    return _purge_oldest(Timer.objects.filter(fired_at__lt=cutoff), order="fired_at", limit=limit)  # timer_fired


def purge_changes(*, cutoff: datetime, limit: int) -> int:
    """Routed change events older than the cutoff with what routing made of them (derived events, deliveries).

    Kept: unrouted events (parked ones too: they have no routed_at), events with a delivery still pending,
    and events after the oldest armed dwell's arming (dwell_broken_since_armed re-reads them).
    """
    expired = ChangeEvent.objects.filter(routed_at__isnull=False, occurred_at__lt=cutoff)  # index change_routed_at
    oldest_dwell_mark = Dwell.objects.aggregate(m=Min("armed_after_change"))["m"]
    if oldest_dwell_mark is not None:
        expired = expired.filter(id__lte=oldest_dwell_mark)
    pending = SubscriptionDelivery.objects.filter(change=OuterRef("pk"), delivered_at__isnull=True)
    ids = _batch_ids(expired.exclude(Exists(pending)), order="occurred_at", limit=limit)
    if not ids:
        return 0
    DerivedTriggerEvent.objects.filter(change_id__in=ids).delete()
    SubscriptionDelivery.objects.filter(change_id__in=ids).delete()
    ChangeEvent.objects.filter(pk__in=ids).delete()
    return len(ids)


def purge_transitions(*, cutoff: datetime, limit: int) -> int:
    """Transitions older than the cutoff that a later one of the same entity field superseded.

    The latest per entity field stays whatever its age: it answers "in status since" (history.in_state_since
    orders by at, then id; "later" here is the same order).
    """
    later = Transition.objects.filter(
        Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), id__gt=OuterRef("id")),
        kind=OuterRef("kind"), entity_id=OuterRef("entity_id"), field=OuterRef("field"),
    )  # index transition_entity_field_at
    expired = Transition.objects.filter(Exists(later), at__lt=cutoff)  # index transition_at
    return _purge_oldest(expired, order="at", limit=limit)


def purge_window_hits(*, cutoff: datetime, limit: int) -> int:
    """Window hits older than the cutoff (partitions that fell silent: the gate prunes those it counts)."""
    return _purge_oldest(WindowHit.objects.filter(at__lt=cutoff), order="at", limit=limit)  # index window_hit_at


for _purger in (
    Purger("runs", "CHECKSTACK_RETAIN_RUNS_DAYS", purge_runs),
    Purger("timers", "CHECKSTACK_RETAIN_RUNS_DAYS", purge_timers),
    Purger("changes", "CHECKSTACK_RETAIN_CHANGES_DAYS", purge_changes, CHANGES_FLOOR),
    Purger("transitions", "CHECKSTACK_RETAIN_TRANSITIONS_DAYS", purge_transitions, TRANSITIONS_FLOOR),
    Purger("window_hits", "CHECKSTACK_RETAIN_WINDOW_HITS_DAYS", purge_window_hits, WINDOW_HITS_FLOOR),
):
    retention_register(_purger)
