"""Celery tasks of notifications: thin calls into the services, ids only."""

from celery import shared_task

from . import confirmations, sending, sweeping


# No autoretry: a send's retries live in its row (the sweeper wakes them), and a redelivered message
# finds the row already claimed and does nothing.
# The sends are delivery work (a slow mail server, a burst of one email per follower): CELERY_TASK_ROUTES
# puts them on checkstack.deliveries, beside the deliveries that plan them, out of routing's way.
@shared_task(name="checkstack.send_notification")
def send_notification(send_id: int) -> None:
    sending.notification_send(send_id=send_id)


@shared_task(name="checkstack.send_subscription_confirmation")
def send_subscription_confirmation(subscriber_id: str) -> None:
    confirmations.confirmation_send(subscriber_id=subscriber_id)


@shared_task(name="checkstack.sweep_notifications")
def sweep_notifications() -> None:
    sweeping.notifications_sweep()


# Channel messages: one task per delivery row, on the deliveries queue (CELERY_TASK_ROUTES). No autoretry:
# retries live in the row (back-off, Retry-After) and the sweeper wakes them.
@shared_task(name="checkstack.send_channel_delivery")
def send_channel_delivery(delivery_id: int) -> None:
    from .channels.sending import channel_delivery_send

    channel_delivery_send(delivery_id=delivery_id)


@shared_task(name="checkstack.send_channel_deliveries")
def send_channel_deliveries(delivery_ids: list[int]) -> None:
    from .channels.sending import channel_deliveries_send

    channel_deliveries_send(delivery_ids=delivery_ids)


@shared_task(name="checkstack.sweep_channel_deliveries")
def sweep_channel_deliveries() -> None:
    from .channels.sweeping import channels_sweep

    channels_sweep()
