"""Celery tasks of maintenance windows: thin calls into the services."""

from celery import shared_task
from django.utils import timezone

from . import services

# Wired into CELERY_BEAT_SCHEDULE by settings. A window starts or ends at most this late.
BEAT_SCHEDULE = {
    "maintenance-advance-schedule": {
        "task": "checkstack.maintenance_advance_schedule",
        "schedule": 30.0,
        # A tick still queued when the next one is due is worthless; drop it rather than pile up.
        "options": {"expires": 25.0},
    },
}


@shared_task(name="checkstack.maintenance_advance_schedule")
def maintenance_advance_schedule() -> None:
    # Each window moves in its own short transaction (see the service), so no outer one here.
    services.maintenance_advance_schedule(now=timezone.now())
