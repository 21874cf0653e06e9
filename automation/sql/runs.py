"""The runs' statements: a step row inserted only while its run's claim holds, a run finished in the UPDATE
that is also its fence, a concurrency bucket's counts."""

from django.db import DEFAULT_DB_ALIAS, connections

from ..models import ACTIVE_STATUSES, Run, RunStatus
from .rows import insert_guarded, update_sql_params

# What a step's end writes on its row.
STEP_OUTCOME = ("status", "result", "finished_at")

# Once per firing that passed its gates: a plain statement, not a queryset compiled each time.
BUCKET_COUNTS_SQL = (f"SELECT COUNT(*), COUNT(CASE WHEN status = %s THEN 1 END) FROM {Run._meta.db_table} "
                     f"WHERE bucket = %s AND status IN ({', '.join(['%s'] * len(ACTIVE_STATUSES))})")


def bucket_counts(*, bucket: str) -> tuple[int, int]:
    """(active runs, of them pending) in this concurrency bucket."""
    conn = connections[DEFAULT_DB_ALIAS]
    with conn.cursor() as cursor:
        cursor.execute(BUCKET_COUNTS_SQL, [RunStatus.PENDING.value, bucket, *(s.value for s in ACTIVE_STATUSES)])
        active, pending = cursor.fetchone()
    return active, pending


def _run_pk(conn, run_id):
    return Run._meta.pk.get_db_prep_value(Run._meta.pk.to_python(run_id), conn)


def run_row_insert_fenced(*, row, run_id, token: int, lease_after) -> bool:
    """INSERT `row` (a new row of this run's) only if the run is running under this fencing token with its
    lease expiring after `lease_after`, the run row locked meanwhile; True if inserted.

    One statement: out of a transaction it is its own, and then its commit does not wait for the WAL flush
    (PostgreSQL): the row only counts the step's attempts, and after a database crash that lost it the step
    is simply started again, as after a worker crash.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    table = conn.ops.quote_name(Run._meta.db_table)
    async_commit = conn.vendor == "postgresql" and not conn.in_atomic_block
    lock = " FOR UPDATE OF t" if conn.features.has_select_for_update else ""
    guard = (f"SELECT t.id{', set_config(%s, %s, true)' if async_commit else ''} FROM {table} t "
             f"WHERE t.id = %s AND t.fencing_token = %s AND t.status = %s AND t.lease_expires_at > %s{lock}")
    expires = Run._meta.get_field("lease_expires_at")
    params = (["synchronous_commit", "off"] if async_commit else []) + [
        _run_pk(conn, run_id), token, RunStatus.RUNNING.value, expires.get_db_prep_value(lease_after, conn)]
    return insert_guarded(row, guard, params)


def run_succeed_fenced(*, run_id, token: int, finished_at, step=None) -> str | None:
    """End the run as succeeded if it is running under this fencing token, in one UPDATE that is also the
    fence and the row lock; its bucket, or None when the token no longer holds it (nothing written).

    `step`: a step row of this run's, whose outcome (STEP_OUTCOME, as set on it) is written only if the run
    was ended, in the same statement on PostgreSQL (a data-modifying CTE), two elsewhere.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    quote = conn.ops.quote_name
    run_sql = (f"UPDATE {quote(Run._meta.db_table)} SET status = %s, error = '', reason = '', finished_at = %s, "
               f"lease_owner = '', lease_expires_at = NULL WHERE id = %s AND fencing_token = %s AND status = %s "
               f"RETURNING bucket")
    params = [RunStatus.SUCCEEDED.value, Run._meta.get_field("finished_at").get_db_prep_value(finished_at, conn),
              _run_pk(conn, run_id), token, RunStatus.RUNNING.value]
    if step is None:
        return _bucket(conn, run_sql, params)
    step_sql, step_params = update_sql_params(step, STEP_OUTCOME)
    if conn.vendor != "postgresql":
        bucket = _bucket(conn, run_sql, params)
        if bucket is not None:
            with conn.cursor() as cursor:
                cursor.execute(step_sql, step_params)
        return bucket
    # A data-modifying CTE runs whether or not the query reads it: the step's UPDATE checks that the run's
    # matched, so a lost fence writes neither row.
    return _bucket(conn, f"WITH r AS ({run_sql}), s AS ({step_sql} AND EXISTS (SELECT 1 FROM r) RETURNING 1) "
                         "SELECT bucket FROM r", params + step_params)


def _bucket(conn, sql: str, params: list) -> str | None:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else row[0]
