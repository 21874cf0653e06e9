"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file in var/, needing no server.

Why this transport: kombu's filesystem transport let a worker read a message file before its writer had
finished (kombu issue 1551) and die with JSONDecodeError. SQLite serialises writers itself and kombu's
SQLAlchemy transport takes each message inside `BEGIN IMMEDIATE`, so several publishers (web, the worker's
children, beat) and the consumer never see half a message. Settings select it with
`CELERY_BROKER_TRANSPORT` when the broker URL is `sqlite:///…`; it has no fan-out (see CELERY_TASK_QUEUES).

This subclass changes only how the engine is made: kombu would pass every transport option, our
`polling_interval` included, to `create_engine()`, and it opens SQLite without WAL or a busy timeout.
"""

import sqlite3
from functools import partial

from kombu.transport import sqlalchemy as kombu_sqlalchemy
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

# Kombu marks a taken message invisible and never deletes it: with beat's every-second sweeps the table
# would grow by hundreds of thousands of rows a day and every poll would read past them. Nothing reads an
# invisible row again (the virtual transport acknowledges in memory; a lost message is re-sent by the
# sweepers from the database), so the row goes as soon as it is taken. SQLite's changes() does not count
# a trigger's deletes, so SQLAlchemy's version check on kombu's UPDATE still sees its one row.
DELETE_TAKEN_MESSAGES = """
CREATE TRIGGER IF NOT EXISTS checkstack_delete_taken_message
AFTER UPDATE OF visible ON kombu_message WHEN NEW.visible = 0
BEGIN DELETE FROM kombu_message WHERE id = NEW.id; END
"""


def connect(path: str) -> sqlite3.Connection:
    """Open the broker database with WAL and a busy timeout (writers queue instead of failing)."""
    # timeout: a writer waits up to 30 s for the lock ("database is locked" only after that).
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
    # WAL: readers never block the writer nor it them. NORMAL sync is safe with WAL (a power cut may lose
    # the last commits, never corrupt the file); the application database, not the broker, is the record.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class Channel(kombu_sqlalchemy.Channel):
    def _engine_from_config(self):
        path = make_url(self.connection.client.hostname).database
        # NullPool: a connection per session, closed with it; no pooled connection crosses a fork.
        engine = create_engine(f"sqlite:///{path}", creator=partial(connect, path), poolclass=NullPool)
        kombu_sqlalchemy.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(DELETE_TAKEN_MESSAGES)
            conn.exec_driver_sql("DELETE FROM kombu_message WHERE visible = 0")  # taken before the trigger
        return engine


# The longest a worker drains the embedded broker before it looks at its stop flag again.
DRAIN_SLICE_SECONDS = 0.25


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel

    def drain_events(self, connection, timeout=None):
        """Drain in short slices, so a worker told to stop (Ctrl-C, SIGTERM) starts its warm shutdown at once.

        This transport has no socket to wake up on, so Celery's worker loop drains it with a 2 s timeout and
        checks its stop flag only between drains; kombu polls through the signal until that timeout. A
        slice that finds nothing raises socket.timeout, which the loop expects: it checks the flag and
        drains again.
        """
        return super().drain_events(connection, timeout=min(timeout or DRAIN_SLICE_SECONDS, DRAIN_SLICE_SECONDS))
