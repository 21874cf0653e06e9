"""Durable timers: rows with a due time, fired once each by the beat sweeper.

Claiming uses SELECT … FOR UPDATE SKIP LOCKED, so several sweepers (two beat processes, several workers)
share the due rows without firing one twice; the `fired_at` mark commits with the timer's effect. A timer
whose handler raises stays due and is tried again later, a bounded number of times.
"""

import logging
from datetime import datetime, timedelta
from typing import Callable

from django.db import transaction
from django.utils import timezone

from ...masking import mask
from ...models import Timer

logger = logging.getLogger(__name__)


def timer_set(*, kind: str, owner, due_at: datetime) -> Timer:
    return Timer.objects.create(kind=kind, owner=str(owner), due_at=due_at)


def timers_cancel(*, owner, kinds: list[str] | None = None) -> None:
    """Drop an owner's unfired timers (they would be stale)."""
    qs = Timer.objects.filter(owner=str(owner), fired_at=None)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    qs.delete()


# What each kind of timer does when it fires (inside the sweeper's transaction), and when it is given up:
# registered by kind at start-up (automation/apps.py) by the modules that own the kinds, which import this one.
HANDLERS: dict[str, Callable[[Timer], None]] = {}
GIVE_UPS: dict[str, Callable[[Timer, str], None]] = {}


def timer_kind_register(kind: str, *, fire: Callable[[Timer], None],
                        give_up: Callable[[Timer, str], None] | None = None) -> None:
    """What a timer of this kind does when due (`fire`), and when its handler failed every attempt."""
    HANDLERS[kind] = fire
    if give_up is not None:
        GIVE_UPS[kind] = give_up


BATCH = 100
# A handler that raises is tried again later, this many times in all, then given up (GIVE_UPS):
# a database hiccup gets a few chances, a handler that always fails does not keep its run waiting for ever.
MAX_ATTEMPTS = 5
RETRY_SECONDS = 5  # before the second attempt; doubled before each one after


def timers_fire_due(*, now: datetime | None = None, limit: int = 10_000) -> int:
    """Fire due timers in batches, each batch's marks committed with its effects; returns how many were handled."""
    now = now or timezone.now()
    fired = 0
    while fired < limit:
        with transaction.atomic():
            batch = list(
                Timer.objects.select_for_update(skip_locked=True)
                .filter(fired_at=None, due_at__lte=now)
                .order_by("due_at")[:BATCH]
            )
            if not batch:
                break
            # Marked first: a handler that cancels its owner's unfired timers must not delete this batch.
            Timer.objects.filter(pk__in=[t.pk for t in batch]).update(fired_at=timezone.now())
            for timer in batch:
                _fire_one(timer, now)
        fired += len(batch)
    return fired


def _fire_one(timer: Timer, now: datetime) -> None:
    """Run the timer's handler in its own savepoint; a failure rolls back its effects only."""
    try:
        with transaction.atomic():
            HANDLERS[timer.kind](timer)
    except Exception as exc:  # one broken handler must not stop the sweep
        logger.exception("timer %s (%s for %s) failed, attempt %s", timer.pk, timer.kind, timer.owner,
                         timer.attempts + 1)
        _failed(timer, f"{type(exc).__name__}: {exc}", now)


def _failed(timer: Timer, error: str, now: datetime) -> None:
    """Keep the timer due again after a backoff, or give it up after MAX_ATTEMPTS."""
    timer.attempts += 1
    timer.last_error = mask(error)[:2000]
    if timer.attempts < MAX_ATTEMPTS:
        timer.fired_at = None
        timer.due_at = now + timedelta(seconds=RETRY_SECONDS * 2 ** (timer.attempts - 1))
    else:
        timer.fired_at = timezone.now()  # given up: kept, with its error, but never due again
    timer.save(update_fields=["attempts", "last_error", "fired_at", "due_at"])
    if timer.attempts < MAX_ATTEMPTS:
        return
    reason = f"timer {timer.kind} failed {timer.attempts} times, giving up; last error: {timer.last_error}"
    give_up = GIVE_UPS.get(timer.kind)
    if give_up is None:
        return
    try:
        with transaction.atomic():
            give_up(timer, reason)
    except Exception:  # the timer stays recorded as given up, with its error
        logger.exception("timer %s (%s for %s): giving up failed too", timer.pk, timer.kind, timer.owner)
