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
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from automation.entities.delivery import send_wakeup
from automation.masking import mask, masking_scope
from foundation.egress import TargetRefused

from ..conf import channel_max_attempts, channel_retry_delay, channel_timeout
from .formats import build_request
from .models import Channel, ChannelDelivery, DeliveryStatus
from .transport import Answer, DeadlinePassed, send
from .vault import full_config

logger = logging.getLogger(__name__)

DISABLED = "the channel was disabled before its turn came"
# Requests one task sends at once (planning wakes a task per this many deliveries of a change).
MAX_PARALLEL_SENDS = 50


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


def _claim(delivery_ids: list[int]) -> list[ChannelDelivery]:
    """Take the next message of each of these deliveries' channels for this worker (pending → sending).

    One send at a time per channel, oldest first: a hanging service holds one request, never a pool, and
    a PagerDuty resolve never overtakes its trigger. A wake-up names a delivery; the worker sends its
    channel's oldest pending one (the send in flight wakes the next when it ends). A message waiting for
    its back-off holds the channel's later ones back until it is sent or failed. One transaction of six
    statements for the lot: claiming costs the same for one channel as for a hundred.
    """
    channel_ids = sorted(set(ChannelDelivery.objects.filter(pk__in=delivery_ids)
                             .values_list("channel_id", flat=True)))
    if not channel_ids:
        return []
    now = timezone.now()
    with transaction.atomic():
        # The channel rows serialise their claimers (locked in id order: no deadlock between two); NO KEY:
        # planning's inserts of new deliveries go on meanwhile.
        channels = {c.pk: c for c in Channel.objects.select_for_update(no_key=True)
                    .filter(pk__in=channel_ids).order_by("pk")}
        queues = ChannelDelivery.objects.order_by()  # index channel_delivery_queue
        busy = set(queues.filter(channel_id__in=channels, status=DeliveryStatus.SENDING)
                   .values_list("channel_id", flat=True))
        if disabled := [pk for pk, channel in channels.items() if not channel.enabled]:
            queues.filter(channel_id__in=disabled, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.FAILED, last_error=DISABLED)
        free = [pk for pk, channel in channels.items() if channel.enabled and pk not in busy]
        heads = (queues.filter(channel_id__in=free, status=DeliveryStatus.PENDING).values("channel_id")
                 .annotate(head=Min("id")).values_list("head", flat=True))
        claimed = list(ChannelDelivery.objects.select_for_update(of=("self",))
                       .filter(pk__in=list(heads), next_attempt_at__lte=now).order_by("pk"))
        ChannelDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    for delivery in claimed:
        delivery.channel, delivery.status, delivery.claimed_at = channels[delivery.channel_id], "sending", now
        delivery.attempts += 1
    return claimed


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


@dataclass(frozen=True)
class Attempt:
    """What one send came to (worked out in a sending thread, recorded by the task's own thread)."""

    error: str | None = None  # None: sent
    status: int | None = None
    retry_after: float | None = None
    final: bool = False  # not worth another attempt


def _attempt(delivery: ChannelDelivery) -> Attempt:
    """Send one claimed delivery; no database access (it runs in a sending thread). Errors come masked."""
    with masking_scope():
        try:
            request = build_request(delivery.channel.kind, full_config(delivery.channel), delivery.message,
                                    delivery.message_id)
            answer = send(request, deadline=time.monotonic() + channel_timeout())
        except TargetRefused as exc:
            return Attempt(error=error_text(exc), final=True)
        except Exception as exc:  # noqa: BLE001 - network, TLS, deadline, mail server: worth another attempt
            return Attempt(error=error_text(exc))
        if not answer.ok:
            return Attempt(error=answer_error(answer), status=answer.status, retry_after=answer.retry_after,
                           final=not retryable(answer))
        return Attempt(status=answer.status)


def _record(delivery: ChannelDelivery, attempt: Attempt) -> str:
    if attempt.error is not None:
        return _retry_or_fail(delivery, attempt.error, status=attempt.status, retry_after=attempt.retry_after,
                              final=attempt.final)
    _mine(delivery).update(status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="",
                           response_status=attempt.status)
    return DeliveryStatus.SENT


def channel_deliveries_send(*, delivery_ids: list[int]) -> dict[int, str]:
    """Send the next message of each of these deliveries' channels (see _claim), side by side; {id: status}.

    The requests go out in threads, so one hanging service delays none of the others; the database is
    written from this thread only, each outcome as soon as it is known.
    """
    claimed = _claim(delivery_ids)
    if not claimed:
        return {}
    outcomes = {}
    with ThreadPoolExecutor(max_workers=min(len(claimed), MAX_PARALLEL_SENDS)) as pool:
        pending = {pool.submit(_attempt, delivery): delivery for delivery in claimed}
        for future in as_completed(pending):
            delivery = pending[future]
            try:
                outcomes[delivery.pk] = _record(delivery, future.result())
            finally:
                _wake_next(delivery.channel_id)
    return outcomes


def channel_delivery_send(*, delivery_id: int) -> str | None:
    """Send the owed message of this delivery's channel that is next (see _claim); its new status, or None."""
    return next(iter(channel_deliveries_send(delivery_ids=[delivery_id]).values()), None)
