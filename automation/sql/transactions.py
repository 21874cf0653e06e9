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


def execute(cursor, sql: str, params: list) -> None:
    """`cursor.execute(sql, params)`; as the first statement of a PostgreSQL transaction, sent together with
    the BEGIN psycopg starts it with (a pipeline): one round trip where there were two.

    Errors are raised as Django's, as from any cursor; a lock statement is the first of most hot-path
    transactions (a tracked write's entity, routing's changes, a step's run).
    """
    conn = cursor.db
    if conn.vendor != "postgresql" or transaction_begun():
        cursor.execute(sql, params)
        return
    with conn.wrap_database_errors, conn.connection.pipeline():
        cursor.execute(sql, params)
