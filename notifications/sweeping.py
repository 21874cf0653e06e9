"""The beat safety net: wake what a lost message left undone, take back claims of lost workers, purge."""

import logging
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from automation.entities.delivery import MAX_HOLD_BACK, MIN_HOLD_BACK, send_wakeup

from .conf import confirm_max_age, send_max_attempts, sending_timeout, sweep_grace
from .models import NotificationSend, SendStatus
from .sending import LOST_AFTER_HANDING, LOST_BEFORE_HANDING
from .subscribers import subscribers_confirmation_owed, subscribers_purge_expired

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    recovered: int
    failed: int
    woken: int
    confirmations: int
    purged: int


def _take_back_lost_claims(now) -> tuple[int, int]:
    """Claims older than the sending timeout lost their worker: decide from `handed_at` (see sending.py)."""
    stale = NotificationSend.objects.filter(status=SendStatus.SENDING, claimed_at__lte=now - sending_timeout())
    failed = stale.filter(handed_at__isnull=False).update(status=SendStatus.FAILED, last_error=LOST_AFTER_HANDING)
    never_handed = stale.filter(handed_at__isnull=True)
    # A send that keeps losing its worker before it is even handed over stops after the bound.
    failed += never_handed.filter(attempts__gte=send_max_attempts()).update(
        status=SendStatus.FAILED, last_error=LOST_BEFORE_HANDING
    )
    # Due at once: next_attempt_at takes the old claim time, already past the grace.
    recovered = never_handed.update(
        status=SendStatus.PENDING, next_attempt_at=F("claimed_at"), last_error=LOST_BEFORE_HANDING
    )
    return recovered, failed


def _hold_back(due, rows: list, *, now) -> None:
    """Woken sends are not woken again before they have been owed twice as long (1 s to 5 min), the rule the
    change sweeper holds its re-sends to (automation.entities.delivery.hold_back).

    Under a backlog a woken send's wake-up is still queued: waking every due send at every sweep flooded the
    deliveries queue with duplicates that starved the real work (the chaos soak, docs/chaos.md). `due` limits
    the write to rows still pending and due, so a retry's back-off written meanwhile stands.
    """
    for row in rows:
        row.next_attempt_at = now + min(max(now - row.created_at, MIN_HOLD_BACK), MAX_HOLD_BACK)
    due.bulk_update(rows, ["next_attempt_at"], batch_size=500)


def notifications_sweep(*, now=None, limit: int = 500) -> SweepResult:
    """Run every safety net once; safe from several processes at once (every step is conditional)."""
    from . import tasks

    now = now or timezone.now()
    recovered, failed = _take_back_lost_claims(now)
    due = NotificationSend.objects.filter(status=SendStatus.PENDING, next_attempt_at__lte=now - sweep_grace())
    rows = list(due.order_by("next_attempt_at").only("id", "created_at", "next_attempt_at")[:limit])
    woken = [row for row in rows if send_wakeup(tasks.send_notification, row.pk)]
    _hold_back(due, woken, now=now)
    owed = subscribers_confirmation_owed(now=now, grace=sweep_grace(), max_age=confirm_max_age())
    confirmations = sum(
        send_wakeup(tasks.send_subscription_confirmation, str(pk))
        for pk in owed.order_by("confirmation_requested_at").values_list("pk", flat=True)[:limit]
    )
    purged = subscribers_purge_expired(now=now, max_age=confirm_max_age())
    if recovered or failed or woken or confirmations or purged:
        logger.info(
            "notifications sweep: %s recovered, %s failed, %s woken, %s confirmations, %s purged",
            recovered, failed, len(woken), confirmations, purged,
        )
    return SweepResult(recovered=recovered, failed=failed, woken=len(woken), confirmations=confirmations,
                       purged=purged)
