"""Loaded only by integration-test workers: test hooks registered there, not in the test process."""

import os
import time

from celery import shared_task
from django.db import connection

from automation.engine.waiting.handlers import HANDLERS
from automation.entities.registry import register_deriver, register_trigger_consumer

from .support import (
    holding_routing_recorder,
    poison_deriver,
    record_timer,
    register,
    register_failing_action,
    register_fault_actions,
    seen_client,
)

register()
register_failing_action()
register_fault_actions()
# Only for the tests that start their workers with it: the recorder writes to Redis inside routing.
if os.environ.get("CHECKSTACK_TEST_ROUTING_HOLD_SECONDS"):
    register_trigger_consumer(holding_routing_recorder(float(os.environ["CHECKSTACK_TEST_ROUTING_HOLD_SECONDS"])))
# Only for the fault test of parking: its poison derivers raise or kill while a Redis flag says so.
if os.environ.get("CHECKSTACK_TEST_POISON_DERIVER"):
    register_deriver("system", poison_deriver)
# A timer kind whose firing is recorded in Redis, so a test can count firings per timer.
HANDLERS["test_count"] = record_timer


@shared_task(name="tests.busy_pool_process")
def busy_pool_process(pid_path: str, seconds: float) -> None:
    """Write this pool process's pid to `pid_path`, then stay busy: a pool child that outlives a killed parent."""
    with open(pid_path, "w") as pid_file:
        pid_file.write(str(os.getpid()))
    time.sleep(seconds)


@shared_task(name="tests.record_backend_pid")
def record_backend_pid(key: str) -> None:
    """Push the PostgreSQL backend this worker process's connection talks to: one per connection made."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        seen_client().rpush(key, cursor.fetchone()[0])
