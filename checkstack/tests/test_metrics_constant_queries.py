"""/metrics costs the same with 10 and with 100,000 rows in its tables: the same queries, all on indexes."""

import pytest
from django.db import connection
from django.test import Client

from automation.tests.engine_support import make_automation

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

BIG_TABLES = ("automation_changeevent", "automation_run", "automation_timer", "automation_subscriptiondelivery")


def fill(n: int, automation_id) -> None:
    """Up to `n` rows per table, as years of history look: almost all routed, ended, fired and delivered.

    Raw SQL: the change log refuses bulk writes through the ORM, and 100,000 saves would take minutes.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO automation_changeevent (change_id, kind, entity_id, delta, changed_fields, actor, depth,
                                                occurred_at, routed_at)
            SELECT gen_random_uuid(), 'system', (i % 500)::text, '{{}}', '[]', 'user:test', 0,
                   now() - i * interval '1 minute', CASE WHEN i % 20000 = 7 THEN NULL ELSE now() END
            FROM generate_series(1, {n}) AS i""")
        cursor.execute(f"""
            INSERT INTO automation_subscriptiondelivery (subscriber, change_id, created_at, delivered_at, attempts,
                                                         last_error)
            SELECT 'x', id, occurred_at, CASE WHEN id % 20000 = 3 THEN NULL ELSE occurred_at END, 1, ''
            FROM automation_changeevent ORDER BY id DESC LIMIT {n}""")
        cursor.execute(f"""
            INSERT INTO automation_run (id, automation_id, automation_version, document, trigger_id, event, payload,
                                        actor, run_as, bucket, depth, status, error, reason, created_at, finished_at,
                                        lease_owner, fencing_token, attempts)
            SELECT gen_random_uuid(), %s, 1, '{{}}', 't', 'e', '{{}}', 'user:test', '', 'b', 0,
                   (ARRAY['succeeded', 'failed', 'skipped', 'cancelled'])[i %% 4 + 1], '', '',
                   now() - i * interval '1 minute', now() - i * interval '1 minute', '', 0, 0
            FROM generate_series(1, {n}) AS i""", [automation_id])
        cursor.execute(f"""
            INSERT INTO automation_timer (due_at, kind, owner, fired_at, attempts, last_error, created_at)
            SELECT now() - i * interval '1 minute', 'resume', i::text,
                   CASE WHEN i % 20000 = 5 THEN NULL ELSE now() END, 0, '', now()
            FROM generate_series(1, {n}) AS i""")
        for table in BIG_TABLES:
            cursor.execute(f"ANALYZE {table}")


def scrape() -> list[tuple[str, tuple]]:
    """GET /metrics; the (sql, params) of every query it ran."""
    queries = []

    def record(execute, sql, params, many, context):
        queries.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return queries


def test_metrics_issue_the_same_queries_with_10_and_100000_rows_and_none_scans_a_big_table():
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")
    automation = make_automation({"name": "m", "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"action": "automation.log", "config": {"message": "x"}}]})
    fill(10, automation.pk)
    small = scrape()
    fill(100_000 - 10, automation.pk)
    big = scrape()

    assert [sql for sql, _ in big] == [sql for sql, _ in small]
    assert len(big) >= 8
    with connection.cursor() as cursor:
        for sql, params in big:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert not any(f"Seq Scan on {table}" in plan for table in BIG_TABLES), f"{sql}\n{plan}"
