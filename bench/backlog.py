"""How fast routing drains a backlog of unrouted changes, by the backlog's size and the planner's statistics.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/backlog.py \
        [--sizes 1000,10000,50000] [--sample 1000]

For each size N: N unrouted changes of `--entities` entities (a burst on a few systems; copies of one real
`system` change, written by raw INSERT ... SELECT generate_series, so the backlog is there before anything
routes it), then `--sample` of them routed oldest first with `route_change_event`, one after another in this
process, as the sweeper drains (psycopg prepares the statements after five executions, and PostgreSQL then
switches to a generic plan, so the sample runs mostly on the plan that went wrong in issue 33). Measured three
times per size: never analyzed (the change table's statistics deleted and its row count unknown: autovacuum is
off on this machine, and a fresh install under a burst looks the same), stale statistics (ANALYZE ran when the
table held 2,000 changes, all routed: the statistics say nothing is unrouted) and fresh ones (ANALYZE with the
backlog). Figures: changes/s per size and mode, and slowest ÷ fastest rate (target ≥ 0.8: the same rate
± 20 %). Writes to the named database (superuser: it rewrites the change table's statistics, VACUUMs it, and
deletes its own changes at the end); PostgreSQL only. The last output line is one JSON object.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutations import check_database, configure_environment  # the shared refusal rules

KIND = "system"
ENTITY_PREFIX = "bench-backlog-"
TABLE = "automation_changeevent"
HISTORY = 2000  # routed changes the stale statistics were taken on


def cleanup() -> None:
    """Remove the bench's own changes and what routing them wrote."""
    from django.db import connection

    where = f"change_id IN (SELECT id FROM {TABLE} WHERE entity_id LIKE %s)"
    with connection.cursor() as cursor:
        for table in ("automation_derivedtriggerevent", "automation_subscriptiondelivery"):
            cursor.execute(f"DELETE FROM {table} WHERE {where}", [ENTITY_PREFIX + "%"])
        cursor.execute(f"DELETE FROM {TABLE} WHERE entity_id LIKE %s", [ENTITY_PREFIX + "%"])
        # Autovacuum is off: without this, each size would meet the previous sizes' dead index entries.
        cursor.execute(f"VACUUM {TABLE}")


def template_id() -> int:
    """One real `system` change (its prev/next are what a deriver reads), routed so it stays out of the way."""
    from automation.entities.delivery import route_change_event
    from automation.models import ChangeEvent
    from catalog.services import system_create

    system = system_create(name=f"{ENTITY_PREFIX}template-{time.time_ns()}", actor="bench")
    event = ChangeEvent.objects.filter(kind=KIND, entity_id=str(system.pk)).latest("id")
    route_change_event(str(event.change_id))
    return event.pk


def create_changes(size: int, template: int, *, entities: int, routed: bool = False) -> None:
    """`size` copies of the template change over `entities` entities, unrouted (or routed: history)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {TABLE} (change_id, kind, entity_id, prev, next, delta, changed_fields, actor, depth,
                                 occurred_at, routed_at, routing_attempts, last_routing_error)
            SELECT gen_random_uuid(), kind, %s || (i %% %s)::text, prev, next, delta, changed_fields, actor, depth,
                   now(), CASE WHEN %s THEN now() END, 0, ''
            FROM {TABLE}, generate_series(1, %s) AS i WHERE id = %s ORDER BY i""",
                       [ENTITY_PREFIX, entities, routed, size, template])


def forget_statistics() -> None:
    """The change table as the planner sees it before its first ANALYZE: no column statistics, row count
    unknown (superuser: the bench database is a disposable one)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM pg_statistic WHERE starelid = '{TABLE}'::regclass")
        cursor.execute(f"UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = '{TABLE}'::regclass "
                       f"OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = '{TABLE}'::regclass)")
    connection.close()  # a new session: no plan cached from before


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    connection.close()


def drain(sample: int) -> float:
    """Route the `sample` oldest unrouted changes of the backlog one by one; changes routed per second."""
    from automation.entities.delivery import route_change_event
    from automation.models import ChangeEvent

    ids = list(ChangeEvent.objects.filter(entity_id__startswith=ENTITY_PREFIX, routed_at=None)
               .order_by("id").values_list("change_id", flat=True)[:sample])
    started = time.perf_counter()
    routed = sum(len(route_change_event(str(change_id)).routed) for change_id in ids)
    elapsed = time.perf_counter() - started
    assert routed == len(ids), (routed, len(ids))
    return round(routed / elapsed, 1)


def measure(sizes: list[int], sample: int, entities: int) -> dict:
    out = {}
    template = template_id()
    for size in sizes:
        cleanup()
        forget_statistics()
        create_changes(size + sample, template, entities=entities)
        never = drain(sample)
        cleanup()
        create_changes(HISTORY, template, entities=entities, routed=True)
        analyze()  # statistics of a table whose changes were all routed: they say nothing is unrouted
        create_changes(size + 2 * sample, template, entities=entities)  # each mode drains `sample`
        stale = drain(sample)
        analyze()
        fresh = drain(sample)
        out[str(size)] = {"never_analyzed_per_s": never, "stale_per_s": stale, "fresh_per_s": fresh}
        print(f"{size:>6} unrouted: never analyzed {never}/s, stale statistics {stale}/s, fresh {fresh}/s",
              flush=True)
    cleanup()
    rates = [rate for level in out.values() for rate in level.values()]
    out["spread_slowest_vs_fastest"] = round(min(rates) / max(rates), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000", help="unrouted changes in the backlog")
    parser.add_argument("--sample", type=int, default=1000, help="changes routed and timed per size and mode")
    parser.add_argument("--entities", type=int, default=20, help="entities the backlog's changes belong to")
    parser.add_argument("--any-database", action="store_true", help="allow a database not named for benches")
    args = parser.parse_args()
    configure_environment()
    import django

    django.setup()
    version = check_database(args.any_database)
    import logging

    logging.getLogger("checkstack.automation").setLevel(logging.WARNING)
    result = measure([int(size) for size in args.sizes.split(",")], args.sample, args.entities)
    print(json.dumps({"postgres": version, "sample": args.sample, **result}))


if __name__ == "__main__":
    main()
