"""The connection's transaction as the database sees it, beneath Django's atomic blocks."""

from django.db import DEFAULT_DB_ALIAS, connections


def transaction_begun() -> bool:
    """Whether the current atomic block's transaction has sent the database a statement yet.

    Django opens an outermost block without a round trip, and psycopg and sqlite3 start the transaction
    with its first statement; a nested block's SAVEPOINT is such a statement. False only inside an
    outermost block that has run nothing (True outside a block, or on a backend that does not say).
    """
    conn = connections[DEFAULT_DB_ALIAS]
    raw = conn.connection
    if not conn.in_atomic_block or raw is None:
        return True
    if conn.vendor == "postgresql":
        from psycopg.pq import TransactionStatus

        return raw.info.transaction_status != TransactionStatus.IDLE
    if conn.vendor == "sqlite":
        return raw.in_transaction
    return True
