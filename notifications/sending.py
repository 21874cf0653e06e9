"""Sending the notification emails owed: claim the row, hand the message to the mail server, record it.

Each send row moves pending → sending → sent. What a lost worker leaves behind decides the guarantee:
- killed before the claim commits: the row is still pending; the sweeper wakes it again (at least once);
- killed after the claim but before `handed_at` is recorded: the message never reached the mail server, so
  the sweeper puts the row back to pending once the claim is older than the sending timeout;
- killed after `handed_at` (while talking to the server, or after it accepted but before `sent` is recorded):
  the server may have the message. The sweeper marks the row failed, never re-sends it: no subscriber
  already recorded gets a duplicate. Only a worker dying inside that one SMTP exchange can lose an email
  (at most once); an operator may send such rows again from the admin, knowing it may duplicate.
A server's explicit refusal is known not to be sent: a temporary one (4xx) is retried later from the row,
a permanent one fails the row. Every write after the claim is fenced by the claim, so a worker
that outlived its claim cannot overwrite what the sweeper or a newer attempt recorded (the claim's
timestamp identifies the attempt).
"""

import logging
import smtplib
from datetime import timedelta

from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from .conf import email_timeout, send_max_attempts
from .messages import notification_email
from .models import NotificationSend, SendStatus

logger = logging.getLogger(__name__)

LOST_AFTER_HANDING = "worker lost while the mail server had the message; not re-sent, so it cannot arrive twice"
LOST_BEFORE_HANDING = "worker lost before the message reached the mail server; sending again"
NOT_CONFIRMED = "subscriber no longer confirmed"


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _claim(send_id: int) -> NotificationSend | None:
    """Take a pending send for this worker (pending → sending), or None if it is not pending or is taken."""
    with transaction.atomic():
        send = (
            NotificationSend.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("notification", "subscriber")
            .filter(pk=send_id, status=SendStatus.PENDING)
            .first()
        )
        if send is None:
            return None
        if not send.subscriber.confirmed:
            send.status, send.last_error = SendStatus.SKIPPED, NOT_CONFIRMED
            send.save(update_fields=["status", "last_error"])
            return None
        send.status = SendStatus.SENDING
        send.attempts += 1
        send.claimed_at = timezone.now()
        send.handed_at = None
        send.save(update_fields=["status", "attempts", "claimed_at", "handed_at"])
    return send


def _mine(send: NotificationSend, *statuses: str):
    """This attempt's row, if it is still in one of `statuses` (the fence of every later write)."""
    return NotificationSend.objects.filter(pk=send.pk, claimed_at=send.claimed_at, status__in=statuses)


def _retry_later(send: NotificationSend, exc: BaseException) -> str:
    """Nothing was accepted by the server: retry from the row after a backoff, or fail past the bound."""
    if send.attempts >= send_max_attempts():
        return _fail(send, exc)
    delay = timedelta(seconds=min(60 * 2 ** (send.attempts - 1), 3600))
    _mine(send, SendStatus.SENDING).update(
        status=SendStatus.PENDING, next_attempt_at=timezone.now() + delay, handed_at=None, last_error=_error(exc)
    )
    logger.warning("notification send %s not accepted (%s); retrying in %s", send.pk, _error(exc), delay)
    return SendStatus.PENDING


def _fail(send: NotificationSend, exc: BaseException | str) -> str:
    error = exc if isinstance(exc, str) else _error(exc)
    _mine(send, SendStatus.SENDING).update(status=SendStatus.FAILED, last_error=error)
    logger.error("notification send %s failed: %s", send.pk, error)
    return SendStatus.FAILED


def _refusal_is_temporary(exc: smtplib.SMTPException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _msg in exc.recipients.values())
    return 400 <= exc.smtp_code < 500


def notification_send(*, send_id: int) -> str | None:
    """Send one owed email (see the module docstring); the row's new status, or None if not ours to send."""
    send = _claim(send_id)
    if send is None:
        return None
    try:
        message = notification_email(send=send)
        connection = get_connection(timeout=email_timeout())
        connection.open()
    except Exception as exc:  # noqa: BLE001 - rendering or connecting: the server has nothing yet
        return _retry_later(send, exc)
    try:
        # The point after which a lost worker may have sent it; a fence too: a claim the sweeper took back
        # (this worker stalled past the timeout) must not send.
        if not _mine(send, SendStatus.SENDING).update(handed_at=timezone.now()):
            return None
        connection.send_messages([message])
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
        # The server answered with a refusal: it did not take the message.
        return _retry_later(send, exc) if _refusal_is_temporary(exc) else _fail(send, exc)
    except Exception as exc:  # noqa: BLE001 - e.g. a dropped connection: the server may have taken it
        return _fail(send, f"outcome unknown, not re-sent: {_error(exc)}")
    finally:
        _close(connection)
    # FAILED too: the sweeper may have given up on a slow attempt that did in fact finish.
    _mine(send, SendStatus.SENDING, SendStatus.FAILED).update(
        status=SendStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    return SendStatus.SENT


def _close(connection) -> None:
    try:
        connection.close()
    except Exception:  # the message is already accepted; a failed QUIT changes nothing
        logger.warning("closing the mail connection failed", exc_info=True)


def notification_send_retry(*, send_ids: list[int], actor: str) -> list[int]:
    """Send failed rows again (an operator's decision: one whose outcome was unknown may arrive twice)."""
    now = timezone.now()
    retried = list(NotificationSend.objects.filter(pk__in=send_ids, status=SendStatus.FAILED).values_list("id",
                                                                                                          flat=True))
    NotificationSend.objects.filter(pk__in=retried, status=SendStatus.FAILED).update(
        status=SendStatus.PENDING, next_attempt_at=now, attempts=0, handed_at=None
    )
    from .fanout import wake_sends

    transaction.on_commit(lambda: wake_sends(retried), robust=True)
    logger.info("notification sends %s retried by %s", retried, actor)
    return retried
