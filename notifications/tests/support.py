"""Driving the notification pipeline in-process, as the workers would: route, deliver, send."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from automation.entities import delivery
from automation.models import ChangeEvent, SubscriptionDelivery
from catalog.services import system_create
from notifications.conf import confirm_max_age
from notifications.confirmations import confirmation_send
from notifications.models import NotificationSend, SendStatus
from notifications.sending import notification_send
from notifications.subscribers import subscriber_create, subscribers_confirmation_owed


def route_and_deliver() -> None:
    """Route every unrouted change and run every pending work_queue delivery (the sends are then owed)."""
    for change_id in ChangeEvent.objects.filter(routed_at=None).order_by("id").values_list("change_id", flat=True):
        delivery.route_change_event(str(change_id))
    for delivery_id in SubscriptionDelivery.objects.filter(delivered_at=None).order_by("id").values_list("id",
                                                                                                         flat=True):
        delivery.deliver_change(delivery_id)


def pump() -> list:
    """Route, deliver, and send every due email, as the workers would; the outbox."""
    route_and_deliver()
    owed = subscribers_confirmation_owed(now=timezone.now(), grace=timedelta(0), max_age=confirm_max_age())
    for subscriber_id in owed.values_list("pk", flat=True):
        confirmation_send(subscriber_id=str(subscriber_id))
    for send_id in NotificationSend.objects.filter(status=SendStatus.PENDING).order_by("id").values_list("id",
                                                                                                         flat=True):
        notification_send(send_id=send_id)
    return mail.outbox


def inboxes() -> dict[str, list[str]]:
    """Subjects received, per recipient."""
    received: dict[str, list[str]] = {}
    for message in mail.outbox:
        for address in message.to:
            received.setdefault(address, []).append(message.subject)
    return received


def make_world():
    """Two systems; ann follows both, bob follows db, carol asked for api but never confirmed."""
    api = system_create(name="api", actor="system")
    db = system_create(name="db", actor="system")
    subscriber_create(email="ann@example.com", system_ids=[api.pk, db.pk], confirmed=True, actor="system")
    subscriber_create(email="bob@example.com", system_ids=[db.pk], confirmed=True, actor="system")
    subscriber_create(email="carol@example.com", system_ids=[api.pk], actor="system")
    pump()
    mail.outbox.clear()  # carol's confirmation email
    return api, db


SUBSCRIBE = "/status/subscribe/"


@pytest.fixture
def fresh_rate_limits():
    """Each test starts with no subscribe requests counted (the limits' cache outlives a test's rollback)."""
    cache.clear()
    yield
    cache.clear()
