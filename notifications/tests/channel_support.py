"""Channels in tests: create them through the service, pump changes to their deliveries in-process."""

from automation.entities import delivery
from automation.models import ChangeEvent, SubscriptionDelivery
from notifications.channels.models import ChannelDelivery, DeliveryStatus
from notifications.channels.sending import channel_delivery_send
from notifications.channels.services import channel_create

ALL_EVENTS = ["incident.created", "incident.updated", "incident.resolved", "maintenance.scheduled",
              "maintenance.started", "maintenance.completed", "health.changed"]


def make_channel(name, kind, config, *, events=ALL_EVENTS, system_ids=(), group_ids=(), enabled=True):
    return channel_create(name=name, kind=kind, config=config, events=events, system_ids=system_ids,
                          group_ids=group_ids, enabled=enabled, actor="user:test").channel


def plan() -> None:
    """Route every unrouted change and run every pending subscriber delivery (channel deliveries are then owed)."""
    for change_id in ChangeEvent.objects.filter(routed_at=None).order_by("id").values_list("change_id", flat=True):
        delivery.route_change_event(str(change_id))
    pending = SubscriptionDelivery.objects.filter(delivered_at=None).order_by("id")
    for delivery_id in pending.values_list("id", flat=True):
        delivery.deliver_change(delivery_id)


def send_due() -> list[str | None]:
    """Send every due pending channel delivery once, as the workers would; their new statuses."""
    plan()
    return [channel_delivery_send(delivery_id=pk) for pk in
            ChannelDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by("id").values_list("id", flat=True)]
