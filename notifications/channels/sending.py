"""Sending one channel delivery: claim the row, send the request, record the answer.

pending → sending → sent, or back to pending after a back-off, or failed after the last attempt.
The guarantee, by where a worker is lost:
- before the claim commits: the row is still pending; the sweeper wakes it again;
- after the claim (while sending, or after the service answered but before `sent` is recorded): the
  sweeper puts the row back to pending once the claim is older than the sending timeout, and it is sent
  again with the same message id. A service may then see it twice, at most once more per lost worker,
  and recognises the duplicate by its `Idempotency-Key` / `webhook-id` (PagerDuty and Opsgenie also by
  the dedup key or alias). Unlike email, a chat message lost is worse than one seen twice.
Every write after the claim is fenced by the claim time, so a worker that outlived its claim cannot
overwrite what the sweeper or a newer attempt recorded. The request runs outside any transaction.
"""

import logging
import time

from django.db import transaction
from django.utils import timezone

from automation.builtins.egress import TargetRefused
from automation.entities.delivery import send_wakeup
from automation.masking import mask, masking_scope

from ..conf import channel_max_attempts, channel_retry_delay, channel_timeout
from .formats import build_request
from .models import Channel, ChannelDelivery, DeliveryStatus
from .transport import Answer, DeadlinePassed, send
from .vault import full_config

logger = logging.getLogger(__name__)

DISABLED = "the channel was disabled before its turn came"


def error_text(exc: BaseException) -> str:
    """An exception as stored and shown: secrets remembered in this context masked, bounded."""
    if isinstance(exc, DeadlinePassed):
        return "deadline exceeded: no complete answer in time; the connection was cut off"
    return mask(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:2000]


def answer_error(answer: Answer) -> str:
    return mask(f"HTTP {answer.status}: {answer.body[:500]}".strip())[:2000]


def retryable(answer: Answer) -> bool:
    """Worth another attempt: rate limited, timed out or a server error; other refusals will not change."""
    return answer.status in (408, 425, 429) or answer.status >= 500


def _claim(delivery_id: int) -> ChannelDelivery | None:
    """Take the channel's next message for this worker (pending → sending); None when there is none due now.

    One send at a time per channel, oldest first: a hanging service holds one worker slot, never all of
    them, and a PagerDuty resolve never overtakes its trigger. The wake-up names a delivery; the worker
    sends its channel's oldest pending one (the send in flight wakes the next when it ends). A message
    waiting for its back-off holds the channel's later ones back until it is sent or failed.
    """
    channel_id = ChannelDelivery.objects.filter(pk=delivery_id).values_list("channel_id", flat=True).first()
    if channel_id is None:
        return None
    with transaction.atomic():
        # The channel row serialises its claimers; NO KEY: planning's inserts of new deliveries still go on.
        channel = Channel.objects.select_for_update(no_key=True).filter(pk=channel_id).first()
        queue = ChannelDelivery.objects.filter(channel_id=channel_id)  # index channel_delivery_queue
        if channel is None or queue.filter(status=DeliveryStatus.SENDING).exists():
            return None
        if not channel.enabled:
            queue.filter(status=DeliveryStatus.PENDING).update(status=DeliveryStatus.FAILED, last_error=DISABLED)
            return None
        delivery = (queue.select_for_update(of=("self",)).filter(status=DeliveryStatus.PENDING)
                    .order_by("id").first())
        if delivery is None or delivery.next_attempt_at > timezone.now():
            return None
        delivery.channel = channel
        delivery.status, delivery.claimed_at = DeliveryStatus.SENDING, timezone.now()
        delivery.attempts += 1
        delivery.save(update_fields=["status", "attempts", "claimed_at"])
    return delivery


def _wake_next(channel_id) -> None:
    """After a send: wake the channel's next message if it is due (one still backing off waits for the sweeper)."""
    from .. import tasks

    head = (ChannelDelivery.objects.filter(channel_id=channel_id, status=DeliveryStatus.PENDING)
            .order_by("id").values_list("id", "next_attempt_at").first())
    if head is not None and head[1] <= timezone.now():
        send_wakeup(tasks.send_channel_delivery, head[0])


def _mine(delivery: ChannelDelivery):
    """This attempt's row while it is still this attempt's (the fence of every later write)."""
    return ChannelDelivery.objects.filter(pk=delivery.pk, claimed_at=delivery.claimed_at,
                                          status=DeliveryStatus.SENDING)


def _retry_or_fail(delivery: ChannelDelivery, error: str, *, status: int | None = None,
                   retry_after: float | None = None, final: bool = False) -> str:
    if final or delivery.attempts >= channel_max_attempts():
        _mine(delivery).update(status=DeliveryStatus.FAILED, last_error=error, response_status=status)
        logger.error("channel delivery %s failed after %s attempt(s): %s", delivery.pk, delivery.attempts, error)
        return DeliveryStatus.FAILED
    delay = channel_retry_delay(delivery.attempts, retry_after)
    _mine(delivery).update(status=DeliveryStatus.PENDING, next_attempt_at=timezone.now() + delay,
                           last_error=error, response_status=status)
    logger.warning("channel delivery %s not delivered (%s); retrying in %s", delivery.pk, error, delay)
    return DeliveryStatus.PENDING


def channel_delivery_send(*, delivery_id: int) -> str | None:
    """Send the owed message of this delivery's channel that is next (see _claim); its new status, or None."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    try:
        return _send(delivery)
    finally:
        _wake_next(delivery.channel_id)


def _send(delivery: ChannelDelivery) -> str:
    with masking_scope():
        try:
            request = build_request(delivery.channel.kind, full_config(delivery.channel), delivery.message,
                                    delivery.message_id)
            answer = send(request, deadline=time.monotonic() + channel_timeout())
        except TargetRefused as exc:
            return _retry_or_fail(delivery, error_text(exc), final=True)
        except Exception as exc:  # noqa: BLE001 - network, TLS, deadline, mail server: worth another attempt
            return _retry_or_fail(delivery, error_text(exc))
        if not answer.ok:
            return _retry_or_fail(delivery, answer_error(answer), status=answer.status,
                                  retry_after=answer.retry_after, final=not retryable(answer))
    _mine(delivery).update(status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="",
                           response_status=answer.status)
    return DeliveryStatus.SENT
