"""Durable timers: rows with a due time, fired once each by the beat sweeper.

Claiming uses SELECT … FOR UPDATE SKIP LOCKED, so several sweepers (two beat processes, several workers)
share the due rows without firing one twice; the `fired_at` mark commits with the timer's effect.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..models import Timer

logger = logging.getLogger(__name__)


def timer_set(*, kind: str, owner, due_at: datetime) -> Timer:
    return Timer.objects.create(kind=kind, owner=str(owner), due_at=due_at)


def timers_cancel(*, owner, kinds: list[str] | None = None) -> None:
    """Drop an owner's unfired timers (they would be stale)."""
    qs = Timer.objects.filter(owner=str(owner), fired_at=None)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    qs.delete()


BATCH = 100


def timers_fire_due(*, now: datetime | None = None, limit: int = 10_000) -> int:
    """Fire due timers in batches, each batch's marks committed with its effects; returns how many."""
    from .timer_handlers import HANDLERS

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
            Timer.objects.filter(pk__in=[t.pk for t in batch]).update(fired_at=timezone.now())
            for timer in batch:
                try:
                    with transaction.atomic():
                        HANDLERS[timer.kind](timer)
                except Exception:  # noqa: BLE001 - one broken handler must not stop the sweep
                    logger.exception("timer %s (%s for %s) failed", timer.pk, timer.kind, timer.owner)
        fired += len(batch)
    return fired
