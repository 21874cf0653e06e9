"""Loaded only by integration-test workers: test hooks registered there, not in the test process."""

from celery import shared_task
from django.db import connection

from automation.engine.timer_handlers import HANDLERS

from .support import record_timer, seen_client, register, register_failing_action, register_fault_actions

register()
register_failing_action()
register_fault_actions()
# A timer kind whose firing is recorded in Redis, so a test can count firings per timer.
HANDLERS["test_count"] = record_timer


@shared_task(name="tests.record_backend_pid")
def record_backend_pid(key: str) -> None:
    """Push the PostgreSQL backend this worker process's connection talks to: one per connection made."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        seen_client().rpush(key, cursor.fetchone()[0])
