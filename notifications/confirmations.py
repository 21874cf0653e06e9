"""Sending the confirmation email a subscription request owes: at least once (a repeat is harmless)."""

import logging
import smtplib

from django.core.mail import get_connection
from django.utils import timezone

from .conf import confirm_max_age, email_timeout
from .messages import confirmation_email
from .models import Subscriber
from .subscribers import confirmation_pending, subscriber_mark_confirmation_sent

logger = logging.getLogger(__name__)


def _owed(subscriber: Subscriber) -> bool:
    sent, requested = subscriber.confirmation_sent_at, subscriber.confirmation_requested_at
    return confirmation_pending(subscriber, now=timezone.now(), max_age=confirm_max_age()) and (
        sent is None or sent < requested
    )


def confirmation_send(*, subscriber_id: str) -> bool:
    """Send the confirmation owed to this subscriber, if any; True when one went out.

    No claim, on purpose: two workers may both send one (harmless), and a failure leaves it owed for the
    sweeper. A permanent refusal of the address is recorded as done: retrying cannot help.
    """
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or not _owed(subscriber):
        return False
    requested_at = subscriber.confirmation_requested_at
    message = confirmation_email(subscriber=subscriber)
    try:
        get_connection(timeout=email_timeout()).send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        if any(code < 500 for code, _msg in exc.recipients.values()):
            raise
        logger.warning("confirmation for subscriber %s refused for good: %s", subscriber_id, exc)
        subscriber_mark_confirmation_sent(subscriber_id=subscriber.pk, requested_at=requested_at)
        return False
    subscriber_mark_confirmation_sent(subscriber_id=subscriber.pk, requested_at=requested_at)
    return True
