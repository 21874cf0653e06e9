"""The sweepers and the retention purge stay on indexes with 100,000 rows of history in their tables."""

import re

import pytest
from django.db import connection

from automation.engine.runs.recovery import recover_stalled_runs
from automation.engine.waiting.timers import timers_fire_due
from automation.entities.delivery import sweep_undelivered
from automation.retention import purge_expired
from automation.tests.engine_support import make_automation
from checkstack.tests.big_tables import BIG_TABLES, fill

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def plans_of(call) -> list[tuple[str, str]]:
    """Run `call`; return (sql, EXPLAIN) of every SELECT, UPDATE and DELETE it issued."""
    queries = []

    def record(execute, sql, params, many, context):
        if not many and sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            queries.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call()
    with connection.cursor() as cursor:
        return [(sql, "\n".join(row[0] for row in cursor.execute("EXPLAIN " + sql, params).fetchall()))
                for sql, params in queries]


def test_no_sweeper_or_purge_query_scans_a_big_table(settings):
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")
    settings.CHECKSTACK_RETAIN_RUNS_DAYS = settings.CHECKSTACK_RETAIN_CHANGES_DAYS = 30
    automation = make_automation({"name": "p", "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"action": "automation.log", "config": {"message": "x"}}]})
    fill(100_000, automation.pk)

    for call in (sweep_undelivered, recover_stalled_runs, timers_fire_due,
                 # The purge last: it deletes. Batches of 100 ids against 100,000 rows, the ratio of the default
                 # 1000 against a million: at 1000 of 100,000 a seq scan is honestly the cheaper plan.
                 lambda: purge_expired(batch=100, budget_seconds=0.5)):
        plans = plans_of(call)
        assert plans
        for sql, plan in plans:
            assert not scans(plan), f"{sql[:400]}\n{plan[:2000]}"


def scans(plan: str) -> list[str]:
    return [table for table in BIG_TABLES if re.search(rf"Seq Scan on {table}\b", plan)]
