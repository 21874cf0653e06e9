"""/metrics costs the same with 10 and with 100,000 rows in its tables: the same queries, all on indexes."""

import re

import pytest
from django.db import connection
from django.test import Client

from automation.tests.engine_support import make_automation
from checkstack.tests.big_tables import BIG_TABLES, fill

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

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
            assert not any(re.search(rf"Seq Scan on {table}\b", plan) for table in BIG_TABLES), f"{sql}\n{plan}"
