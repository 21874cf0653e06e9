"""Notifications in the retention purge: finished sends go, pending emails and what they render stay."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.retention import purge_expired
from notifications.models import Notification, NotificationSend, Subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = timezone.now()


def a_notification(*, days_ago: int, sends: list[str]) -> Notification:
    notification = Notification.objects.create(change_id=uuid.uuid4(), kind="incident", entity_id="1",
                                               topic="incident_created", context={"title": "t"})
    Notification.objects.filter(pk=notification.pk).update(created_at=NOW - timedelta(days=days_ago))
    for status in sends:
        subscriber = Subscriber.objects.create(email=f"{uuid.uuid4().hex[:10]}@example.com", confirmed=True)
        send = NotificationSend.objects.create(notification=notification, subscriber=subscriber, status=status)
        NotificationSend.objects.filter(pk=send.pk).update(created_at=NOW - timedelta(days=days_ago))
    return notification


def test_finished_sends_past_retention_go_with_their_notification():
    old = a_notification(days_ago=100, sends=["sent", "failed", "skipped"])
    recent = a_notification(days_ago=80, sends=["sent"])

    assert purge_expired(now=NOW).deleted["notifications"] == 3

    assert list(Notification.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not NotificationSend.objects.filter(notification=old).exists()
    assert NotificationSend.objects.filter(notification=recent).count() == 1


def test_pending_and_sending_emails_are_never_purged_nor_the_notification_they_render(settings):
    settings.CHECKSTACK_RETAIN_NOTIFICATIONS_DAYS = 1
    notification = a_notification(days_ago=400, sends=["pending", "sending", "sent"])

    purge_expired(now=NOW)

    assert Notification.objects.filter(pk=notification.pk).exists()
    assert sorted(NotificationSend.objects.values_list("status", flat=True)) == ["pending", "sending"]


def test_finished_channel_deliveries_past_retention_go_and_owed_ones_stay():
    from notifications.channels.models import ChannelDelivery
    from notifications.tests.channel_support import make_channel

    channel = make_channel("ops", "slack", {"url": "https://hooks.example.com/a"})
    rows = {status: ChannelDelivery.objects.create(channel=channel, change_id=uuid.uuid4(), event="health.changed",
                                                   status=status)
            for status in ("sent", "failed", "pending", "sending")}
    ChannelDelivery.objects.update(created_at=NOW - timedelta(days=100))
    recent = ChannelDelivery.objects.create(channel=channel, change_id=uuid.uuid4(), event="health.changed",
                                            status="sent")

    assert purge_expired(now=NOW).deleted["channel_deliveries"] == 2

    assert set(ChannelDelivery.objects.values_list("pk", flat=True)) == {
        rows["pending"].pk, rows["sending"].pk, recent.pk}
