"""Rows the retention purge deletes per second while routing goes on, and what it costs routing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/retention.py [--rows 100000]

Populates `--rows` expired rows of history (raw INSERT ... SELECT generate_series: routed change events, each
with a derived event and a delivered delivery; ended runs with two steps each; superseded transitions), then
runs a routing loop in a thread: a system update through the mutation service and its routing in-process
(`route_and_start`), one after another. It measures that loop's p50 for `--seconds` alone, then while
`automation.retention.purge_expired`, in a process of its own as a worker would run it, empties the history
in its batches (CHECKSTACK_RETENTION_BATCH rows
per DELETE). Prints purge rows/s (every row deleted, children included) and routing p50 during ÷ before.
The last output line is one JSON object.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutations import check_database, configure_environment

TABLES = ("automation_changeevent", "automation_derivedtriggerevent", "automation_subscriptiondelivery",
          "automation_run", "automation_runstep", "automation_transition")


def populate(rows: int, automation_id) -> None:
    """About `rows` expired rows in all: a fifth change events (+ as many derived events and deliveries),
    a tenth runs (+ two steps each), the rest superseded transitions."""
    from django.db import connection, transaction

    changes, runs = rows // 5, rows // 10
    transitions = rows - 3 * changes - 3 * runs
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO automation_changeevent (change_id, kind, entity_id, delta, changed_fields, actor, depth,
                                                occurred_at, routed_at)
            SELECT gen_random_uuid(), 'bench-old', (i %% 1000)::text, '{}', '[]', 'bench', 0,
                   now() - interval '400 days' + i * interval '1 second', now() - interval '400 days'
            FROM generate_series(1, %s) AS i""", [changes])
        cursor.execute("""
            INSERT INTO automation_derivedtriggerevent (change_id, event, payload, created_at)
            SELECT id, 'bench.old', '{}', occurred_at FROM automation_changeevent WHERE kind = 'bench-old'""")
        cursor.execute("""
            INSERT INTO automation_subscriptiondelivery (subscriber, change_id, created_at, delivered_at, attempts,
                                                         last_error)
            SELECT 'bench', id, occurred_at, occurred_at, 1, '' FROM automation_changeevent
            WHERE kind = 'bench-old'""")
        cursor.execute("""
            INSERT INTO automation_run (id, automation_id, automation_version, document, trigger_id, event, payload,
                                        actor, run_as, bucket, depth, status, error, reason, created_at, finished_at,
                                        lease_owner, fencing_token, attempts)
            SELECT gen_random_uuid(), %s, 1, '{}', 't', 'e', '{}', 'bench', '', 'bench', 0, 'succeeded', '', '',
                   now() - interval '400 days', now() - interval '400 days' + i * interval '1 second', '', 0, 0
            FROM generate_series(1, %s) AS i""", [automation_id, runs])
        cursor.execute("""
            INSERT INTO automation_runstep (run_id, path, iteration, step_id, kind, status, attempts, result, error)
            SELECT r.id, 'actions.' || s, '', '', 'action', 'succeeded', 1, '{}', ''
            FROM automation_run r CROSS JOIN generate_series(0, 1) AS s WHERE r.actor = 'bench'""")
        cursor.execute("""
            INSERT INTO automation_transition (kind, entity_id, field, to_value, at, actor, change_id)
            SELECT 'bench-old', (i %% 1000)::text, 'status', '"x"',
                   now() - interval '800 days' + i * interval '1 second', 'bench', gen_random_uuid()
            FROM generate_series(1, %s) AS i""", [transitions])
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")


def count_rows() -> int:
    """Rows of the populated history still there (not the routing loop's own new rows)."""
    from django.db import connection

    old_changes = "SELECT id FROM automation_changeevent WHERE kind = 'bench-old'"
    with connection.cursor() as cursor:
        return sum(cursor.execute(sql).fetchone()[0] for sql in (
            "SELECT count(*) FROM automation_changeevent WHERE kind = 'bench-old'",
            f"SELECT count(*) FROM automation_derivedtriggerevent WHERE change_id IN ({old_changes})",
            f"SELECT count(*) FROM automation_subscriptiondelivery WHERE change_id IN ({old_changes})",
            "SELECT count(*) FROM automation_run WHERE actor = 'bench'",
            "SELECT count(*) FROM automation_runstep WHERE run_id IN "
            "(SELECT id FROM automation_run WHERE actor = 'bench')",
            "SELECT count(*) FROM automation_transition WHERE kind = 'bench-old'",
        ))


class RoutingLoop(threading.Thread):
    """Update a system and route its change, again and again; records each round's seconds by phase."""

    def __init__(self, system_id):
        super().__init__(daemon=True)
        self.system_id, self.phase, self.samples, self.stop = system_id, "before", {}, threading.Event()

    def run(self):
        from django.db import connection

        from automation.engine.runs.runner import route_and_start
        from automation.models import ChangeEvent
        from catalog.models import System
        from catalog.services import system_update

        i = 0
        while not self.stop.is_set():
            i += 1
            began = time.perf_counter()
            system = System.objects.get(pk=self.system_id)
            system_update(system=system, description=f"bench {i}", actor="bench")
            change = ChangeEvent.objects.filter(kind="system", entity_id=str(self.system_id)).order_by("-id").first()
            route_and_start(str(change.change_id))
            self.samples.setdefault(self.phase, []).append(time.perf_counter() - began)
        connection.close()


def p50_ms(values) -> float:
    return round(statistics.median(values) * 1000, 2)


def clean() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM automation_transition WHERE actor = 'bench'")
        cursor.execute("DELETE FROM automation_derivedtriggerevent WHERE change_id IN "
                       "(SELECT id FROM automation_changeevent WHERE actor = 'bench')")
        cursor.execute("DELETE FROM automation_subscriptiondelivery WHERE change_id IN "
                       "(SELECT id FROM automation_changeevent WHERE actor = 'bench')")
        cursor.execute("DELETE FROM automation_changeevent WHERE actor = 'bench'")
        cursor.execute("DELETE FROM automation_runstep WHERE run_id IN "
                       "(SELECT id FROM automation_run WHERE actor = 'bench')")
        cursor.execute("DELETE FROM automation_run WHERE actor = 'bench'")


def purge_until_done() -> None:
    """Beat ticks back to back: purge_expired with its time budget until nothing expired is left."""
    from django.conf import settings

    from automation.retention import purge_expired

    print("start", flush=True)
    began = time.perf_counter()
    while not purge_expired(budget_seconds=settings.CHECKSTACK_RETENTION_BUDGET_SECONDS).finished:
        pass
    print(time.perf_counter() - began, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="routing alone before the purge")
    parser.add_argument("--any-database", action="store_true")
    parser.add_argument("--purge-only", action="store_true", help=argparse.SUPPRESS)  # the purging process
    args = parser.parse_args()
    configure_environment()
    os.environ["CHECKSTACK_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-retention-")  # the embedded broker's folders
    import django

    django.setup()
    version = check_database(args.any_database)
    if args.purge_only:
        return purge_until_done()
    from django.conf import settings
    from django.core.management import call_command

    from automation.models import Automation
    from automation.tests.engine_support import make_automation
    from catalog.services import system_create

    call_command("migrate", verbosity=0)
    clean()
    automation = Automation.objects.filter(name="bench-retention").first() or make_automation(
        {"name": "bench-retention", "triggers": [{"event": "automation.manual"}],
         "actions": [{"action": "automation.log", "config": {"message": "x"}}]})
    system = system_create(name=f"bench-retention-{os.getpid()}", actor="bench")
    populate(args.rows, automation.pk)
    before_rows = count_rows()

    loop = RoutingLoop(system.pk)
    loop.start()
    time.sleep(args.seconds)
    purger = subprocess.Popen([sys.executable, __file__, "--purge-only", "--any-database"], env=os.environ,
                              stdout=subprocess.PIPE, text=True)
    assert purger.stdout.readline().strip() == "start"  # Django is set up: the purge begins now
    loop.phase = "during"
    purge_seconds = float(purger.stdout.readline())
    assert purger.wait() == 0
    loop.phase = "after"
    loop.stop.set()
    loop.join()
    deleted = before_rows - count_rows()
    before, during = loop.samples["before"], loop.samples.get("during", [])
    result = {
        "rows_populated": before_rows, "rows_purged": deleted, "rows_kept": before_rows - deleted,
        "purge_seconds": round(purge_seconds, 2),
        "purge_rows_per_s": round(deleted / purge_seconds), "batch": settings.CHECKSTACK_RETENTION_BATCH,
        "routing_p50_before_ms": p50_ms(before), "routing_p50_during_ms": p50_ms(during) if during else None,
        "routing_rounds_before": len(before), "routing_rounds_during": len(during),
        "routing_p50_ratio": round(p50_ms(during) / p50_ms(before), 2) if during else None, "postgres": version,
    }
    print(f"purged {deleted} rows in {purge_seconds:.1f} s: {result['purge_rows_per_s']} rows/s "
          f"(batches of {result['batch']})")
    print(f"routing p50 {result['routing_p50_before_ms']} ms before, {result['routing_p50_during_ms']} ms during "
          f"({result['routing_p50_ratio']}x; {len(during)} rounds during)")
    clean()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
