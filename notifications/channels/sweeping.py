"""The beat safety net of channel deliveries: take back lost claims, wake what is due."""

import logging
from dataclasses import dataclass

from django.db.models import Min, Q
from django.utils import timezone

from automation.entities.delivery import send_wakeup

from ..conf import channel_max_attempts, channel_sending_timeout, sweep_grace
from .models import ChannelDelivery, DeliveryStatus

logger = logging.getLogger(__name__)

LOST_WORKER = "worker lost while sending; sending again with the same message id"
LOST_TOO_OFTEN = "worker lost while sending, on every attempt"


def _due_heads(now, limit: int) -> list[int]:
    """Each idle channel's oldest pending delivery, when it is due: one wake-up per channel at most.

    A channel sends one message at a time, oldest first (sending.py), so waking any other of its rows would
    only make a worker find nothing to do, every sweep, for as long as a hanging service holds the head.
    A first attempt has its wake-up from the commit (it gets the grace); a retry has only this sweep.
    """
    queues = ChannelDelivery.objects.order_by()  # index channel_delivery_queue
    busy = queues.filter(status=DeliveryStatus.SENDING).values("channel_id")
    heads = (queues.filter(status=DeliveryStatus.PENDING).exclude(channel_id__in=busy).values("channel_id")
             .annotate(head=Min("id")).values("head"))
    due = ChannelDelivery.objects.filter(
        Q(attempts=0, next_attempt_at__lte=now - sweep_grace()) | Q(attempts__gt=0, next_attempt_at__lte=now),
        pk__in=heads)
    return list(due.order_by("next_attempt_at").values_list("id", flat=True)[:limit])


@dataclass(frozen=True)
class ChannelSweepResult:
    recovered: int
    failed: int
    woken: int


def channels_sweep(*, now=None, limit: int = 500) -> ChannelSweepResult:
    """Run the channel safety nets once; safe from several processes at once (every step is conditional)."""
    from .. import tasks

    now = now or timezone.now()
    stale = ChannelDelivery.objects.filter(status=DeliveryStatus.SENDING,
                                           claimed_at__lte=now - channel_sending_timeout())
    failed = stale.filter(attempts__gte=channel_max_attempts()).update(status=DeliveryStatus.FAILED,
                                                                       last_error=LOST_TOO_OFTEN)
    recovered = stale.update(status=DeliveryStatus.PENDING, next_attempt_at=now, last_error=LOST_WORKER)
    woken = sum(send_wakeup(tasks.send_channel_delivery, pk) for pk in _due_heads(now, limit))
    if recovered or failed:
        logger.info("channel sweep: %s recovered, %s failed, %s woken", recovered, failed, woken)
    return ChannelSweepResult(recovered=recovered, failed=failed, woken=woken)
