"""The emails: a notification about a change, and the confirmation of a subscription (plain text and HTML)."""

import unicodedata
from urllib.parse import urlsplit

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from catalog.models import Group, System

from .conf import public_url
from .models import NotificationSend, Subscriber
from .topics import notification_subject, status_label

# Controls (NUL, CR, LF, ESC, …), format characters (bidi overrides) and the Unicode line/paragraph separators.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def confirm_url(subscriber: Subscriber) -> str:
    return public_url() + reverse("notifications:confirm", args=[subscriber.token])


def unsubscribe_url(subscriber: Subscriber) -> str:
    return public_url() + reverse("notifications:unsubscribe", args=[subscriber.unsubscribe_token])


def _headers(subscriber: Subscriber, message_id: str) -> dict:
    return {
        # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs to the link.
        "List-Unsubscribe": f"<{unsubscribe_url(subscriber)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        # RFC 3834: no vacation auto-replies to these.
        "Auto-Submitted": "auto-generated",
        "Message-ID": message_id,
    }


def _domain() -> str:
    return urlsplit(public_url()).hostname or "localhost"


def header_safe(text: str) -> str:
    """One line of printable text: control and line-separator characters become spaces, runs of space one.

    Django refuses a header with CR or LF (BadHeaderError: the whole send fails, and every retry with it),
    and NUL or other controls can break the SMTP conversation; titles come from users and automations.
    """
    cleaned = "".join(" " if unicodedata.category(char) in UNSAFE_CATEGORIES else char for char in text)
    return " ".join(cleaned.split())


def _email(*, subject: str, template: str, context: dict, subscriber: Subscriber, message_id: str):
    message = EmailMultiAlternatives(
        subject=header_safe(subject),
        body=render_to_string(f"notifications/email/{template}.txt", context),
        to=[subscriber.email],
        headers=_headers(subscriber, message_id),
    )
    message.attach_alternative(render_to_string(f"notifications/email/{template}.html", context), "text/html")
    return message


def notification_email(*, send: NotificationSend) -> EmailMultiAlternatives:
    """The email of one send; its Message-ID is the same on every attempt, so receivers can drop a repeat."""
    notification, subscriber = send.notification, send.subscriber
    context = {
        **notification.context,
        "topic": notification.topic,
        "status_label": status_label(notification.context.get("status")),
        "start_at": parse_datetime(notification.context.get("start_at") or ""),
        "end_at": parse_datetime(notification.context.get("end_at") or ""),
        "unsubscribe_url": unsubscribe_url(subscriber),
    }
    return _email(
        subject=notification_subject(notification.topic, notification.context),
        template="notification",
        context=context,
        subscriber=subscriber,
        message_id=f"<notification.{notification.change_id}.{subscriber.pk}@{_domain()}>",
    )


def confirmation_email(*, subscriber: Subscriber) -> EmailMultiAlternatives:
    """The email asking the address's owner to confirm following the systems it lists."""
    wanted = {str(pk) for pk in subscriber.requested_system_ids} | {
        str(pk) for pk in subscriber.systems.values_list("pk", flat=True)
    }
    groups = {str(pk) for pk in subscriber.requested_group_ids} | {
        str(pk) for pk in subscriber.groups.values_list("pk", flat=True)
    }
    group_names = Group.objects.filter(pk__in=groups).order_by("position", "name").values_list("name", flat=True)
    context = {
        "email": subscriber.email,
        # A group reads as what it means: every system in it, those added later too.
        "systems": [f"{name} (every system in the group)" for name in group_names]
        + list(System.objects.filter(pk__in=wanted).order_by("name").values_list("name", flat=True)),
        "confirm_url": confirm_url(subscriber),
        "unsubscribe_url": unsubscribe_url(subscriber),
        "status_url": f"{public_url()}/status/",
    }
    # One id per request: a re-sent confirmation of the same request may be dropped as a repeat.
    requested = subscriber.confirmation_requested_at
    return _email(
        subject="Confirm your status notifications",
        template="confirmation",
        context=context,
        subscriber=subscriber,
        message_id=f"<confirmation.{subscriber.pk}.{int(requested.timestamp() * 1e6) if requested else 0}@{_domain()}>",
    )
