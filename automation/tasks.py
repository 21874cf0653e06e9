"""Celery tasks: thin wake-ups that call a service with ids only."""

from celery import shared_task

from .entities import delivery


@shared_task(name="checkstack.route_change_event")
def route_change_event(change_id: str) -> None:
    delivery.route_change_event(change_id)


@shared_task(name="checkstack.deliver_change")
def deliver_change(delivery_id: int) -> None:
    delivery.deliver_change(delivery_id)


@shared_task(name="checkstack.broadcast_change", queue="checkstack.broadcast")
def broadcast_change(change_id: str) -> None:
    delivery.broadcast_change(change_id)


@shared_task(name="checkstack.sweep_undelivered")
def sweep_undelivered() -> None:
    delivery.sweep_undelivered()
