"""Loaded by the routing bench's worker (`-I bench.noop_tasks`): a task that only stamps when it started."""

import time

import redis
from celery import shared_task
from django.conf import settings


@shared_task(name="bench.noop")
def noop(key: str) -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).rpush(key, repr(time.time()))
