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
from automation.masking import mask, masking_scope

from ..conf import channel_max_attempts, channel_retry_delay, channel_timeout
from .formats import build_request
from .models import ChannelDelivery, DeliveryStatus
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
    """Take a due pending delivery for this worker (pending → sending); None when not due, done or taken."""
    with transaction.atomic():
        delivery = (
            ChannelDelivery.objects.select_for_update(skip_locked=True, of=("self",)).select_related("channel")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()).first()
        )
        if delivery is None:
            return None
        if not delivery.channel.enabled:
            delivery.status, delivery.last_error = DeliveryStatus.FAILED, DISABLED
            delivery.save(update_fields=["status", "last_error"])
            return None
        delivery.status, delivery.claimed_at = DeliveryStatus.SENDING, timezone.now()
        delivery.attempts += 1
        delivery.save(update_fields=["status", "attempts", "claimed_at"])
    return delivery


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
    """Send one owed channel message (see the module docstring); its new status, or None if not ours."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
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
