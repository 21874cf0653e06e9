"""Celery tasks of maintenance windows: thin calls into the services."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(name="checkstack.maintenance_advance_schedule")
def maintenance_advance_schedule() -> None:
    # Each window moves in its own short transaction (see the service), so no outer one here.
    services.maintenance_advance_schedule(now=timezone.now())
