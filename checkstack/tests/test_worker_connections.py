"""Workers keep their database connection across tasks, and replace one the database dropped."""

import uuid

import pytest

from automation.tests.support import seen_client
from checkstack.celery import app
from testing.process_fixtures import wait_for

pytestmark = pytest.mark.integration


def backend_pids(key: str, count: int) -> list[int]:
    for _ in range(count):
        app.send_task("tests.record_backend_pid", args=[key])
    client = seen_client()
    wait_for(lambda: client.llen(key) >= count, timeout=30, what=f"{count} tasks to report their backend")
    return [int(pid) for pid in client.lrange(key, 0, -1)]


def test_a_worker_reuses_its_database_connection_across_tasks(celery_worker):
    # Celery's Django fixup would open a connection per task: 20 tasks, 20 backends.
    pids = backend_pids(f"pids:{uuid.uuid4().hex}", 20)
    assert len(pids) == 20
    assert len(set(pids)) <= 2  # one per worker process (-c 2)


def test_a_connection_the_database_dropped_is_replaced_before_the_next_task(celery_worker):
    from django.db import connection

    key = f"pids:{uuid.uuid4().hex}"
    first = set(backend_pids(key, 6))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [list(first)])
    client = seen_client()
    client.delete(key)
    after = backend_pids(key, 6)
    assert len(after) == 6  # every task ran: the health check at the task's first query reconnected
    assert not first & set(after)
