"""What the retention purge deletes of notifications: finished sends, then notifications left without sends."""

from datetime import datetime

from django.db.models import Exists, OuterRef

from automation.retention import Purger, retention_register

from .channels.models import ChannelDelivery, DeliveryStatus
from .models import Notification, NotificationSend, SendStatus

FINISHED = (SendStatus.SENT, SendStatus.FAILED, SendStatus.SKIPPED)


def purge_notifications(*, cutoff: datetime, limit: int) -> int:
    """Sends finished before the cutoff, then notifications older than it with no send left.

    Pending and sending sends are never purged, nor the notification they render (its snapshot is the email).
    """
    sends = list(NotificationSend.objects.filter(status__in=FINISHED, created_at__lt=cutoff)  # notification_send_done
                 .select_for_update(skip_locked=True).order_by("created_at").values_list("pk", flat=True)[:limit])
    NotificationSend.objects.filter(pk__in=sends).delete()
    any_send = NotificationSend.objects.filter(notification=OuterRef("pk"))
    # index notification_created
    notifications = list(Notification.objects.filter(created_at__lt=cutoff).exclude(Exists(any_send))
                         .select_for_update(skip_locked=True).order_by("created_at")
                         .values_list("pk", flat=True)[:limit])
    Notification.objects.filter(pk__in=notifications).delete()
    return max(len(sends), len(notifications))


def purge_channel_deliveries(*, cutoff: datetime, limit: int) -> int:
    """Channel deliveries sent or failed before the cutoff (pending and sending ones are never purged)."""
    done = list(ChannelDelivery.objects.filter(status__in=(DeliveryStatus.SENT, DeliveryStatus.FAILED),
                                               created_at__lt=cutoff)  # index channel_delivery_done
                .select_for_update(skip_locked=True).order_by("created_at").values_list("pk", flat=True)[:limit])
    ChannelDelivery.objects.filter(pk__in=done).delete()
    return len(done)


def register() -> None:
    retention_register(Purger("notifications", "CHECKSTACK_RETAIN_NOTIFICATIONS_DAYS", purge_notifications))
    retention_register(Purger("channel_deliveries", "CHECKSTACK_RETAIN_NOTIFICATIONS_DAYS", purge_channel_deliveries))
