"""Race tests on PostgreSQL: know, rather than hope after a sleep, that another connection waits on a lock."""

import time

from django.db import connection

# The other backend queues for a lock this one (or any) holds: an ungranted lock, and the backend itself
# reports it waits on a heavyweight lock (row, advisory, relation). Works inside a transaction: pg_locks is
# read live, and pg_stat_activity's per-transaction snapshot is cleared before each look.
WAITING_ON_A_LOCK = """
    SELECT EXISTS (
        SELECT 1
        FROM pg_locks AS l
        JOIN pg_stat_activity AS a ON a.pid = l.pid
        WHERE l.pid = %s AND NOT l.granted AND a.wait_event_type = 'Lock'
    )
"""


def backend_pid() -> int:
    """The PostgreSQL backend pid of this thread's database connection (opened if needed)."""
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def wait_until_waiting_on_lock(pid: int, *, timeout: float = 10.0) -> None:
    """Return once backend `pid` waits on a lock; fail (AssertionError) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(WAITING_ON_A_LOCK, [pid])
            if cursor.fetchone()[0]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"backend {pid} did not wait on a lock within {timeout}s")
            time.sleep(0.01)
