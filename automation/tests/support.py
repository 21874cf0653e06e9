"""What integration-test workers add (`celery worker -I automation.tests.worker_plugin`).

`register()` adds a work_queue subscriber on `system` changes that appends each change id it handles to a Redis
list, so a test can see exactly which changes a real worker delivered, and how many times.
"""

import redis
from django.conf import settings

from automation.entities.registry import Delivery, subscribe

SEEN_KEY = "checkstack-tests:system-changes-seen"


def seen_client() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _record(change):
    seen_client().rpush(SEEN_KEY, change.change_id)


def register() -> None:
    subscribe("system", _record, name="tests.redis_recorder", delivery=Delivery.WORK_QUEUE)


FIRED_KEY = "checkstack-tests:timers-fired"


def record_timer(timer):
    seen_client().rpush(FIRED_KEY, str(timer.pk))
