"""The beat safety net of channel deliveries: take back lost claims, wake what is due."""

import logging
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from automation.entities.delivery import send_wakeup

from ..conf import channel_max_attempts, channel_sending_timeout, sweep_grace
from .models import ChannelDelivery, DeliveryStatus

logger = logging.getLogger(__name__)

LOST_WORKER = "worker lost while sending; sending again with the same message id"
LOST_TOO_OFTEN = "worker lost while sending, on every attempt"


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
    # A first attempt has its wake-up from the commit (give it the grace); a retry has only this sweep.
    due = ChannelDelivery.objects.filter(
        Q(attempts=0, next_attempt_at__lte=now - sweep_grace()) | Q(attempts__gt=0, next_attempt_at__lte=now),
        status=DeliveryStatus.PENDING)
    woken = sum(send_wakeup(tasks.send_channel_delivery, pk)
                for pk in due.order_by("next_attempt_at").values_list("id", flat=True)[:limit])
    if recovered or failed:
        logger.info("channel sweep: %s recovered, %s failed, %s woken", recovered, failed, woken)
    return ChannelSweepResult(recovered=recovered, failed=failed, woken=woken)
