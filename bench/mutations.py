"""Throughput of the entity-mutation service against a plain UPDATE of the same shape, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench \
        .venv/bin/python bench/mutations.py [--seconds N] [--rows N]

PostgreSQL only, and only a database you named: it migrates it, writes `system` rows and their change log,
and removes them again at the end (see bench/README.md). The last line of output is one JSON object.
"""

import argparse
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

ACTOR = "bench"
PREFIX = "bench-"
PLAIN_TABLE = "bench_plain_system"
CAPTURED_MUTATIONS = 200
SERVICE_LABEL = "system_update, 3 tracked fields changed"
# (tracked fields changed) → the system_update keywords that change exactly those.
FIELD_SETS = {1: ("name",), 2: ("name", "description"), 3: ("name", "description", "metadata")}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput measurement")
    parser.add_argument("--rows", type=int, default=64, help="rows updated round-robin (split between threads)")
    parser.add_argument("--threads", type=int, default=8, help="thread count of the concurrent measurement")
    parser.add_argument(
        "--any-database",
        action="store_true",
        help="allow a database whose name does not contain 'bench' (it is migrated and written to)",
    )
    args = parser.parse_args()
    if args.rows < args.threads:
        parser.error("--rows must be at least --threads (each thread owns its own rows)")
    return args


def configure_environment() -> None:
    """Refuse without an explicit DATABASE_URL; pin the settings the bench depends on."""
    if not os.environ.get("DATABASE_URL"):
        sys.exit(
            "bench/mutations.py needs an explicit DATABASE_URL naming a disposable PostgreSQL database, e.g.\n"
            "  createdb -h 127.0.0.1 -U postgres checkstack_bench\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/mutations.py"
        )
    os.environ["DJANGO_SETTINGS_MODULE"] = "checkstack.settings"
    os.environ.setdefault("SECRET_KEY", "checkstack-bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
    # No Celery publish at commit: the bench measures the write path, not delivery.
    os.environ["CHECKSTACK_FAST_PATH"] = "false"
    # DEBUG would record every query in memory and slow both paths.
    os.environ["DEBUG"] = "false"


def check_database(any_database: bool) -> str:
    """Return the server version; exit on SQLite or a database not named for benches."""
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit(f"bench/mutations.py measures PostgreSQL only; DATABASE_URL points at {connection.vendor}.")
    name = connection.settings_dict["NAME"]
    if "bench" not in name and not any_database:
        sys.exit(
            f"refusing to write to database {name!r}: its name does not contain 'bench'. "
            "Use a dedicated database, or pass --any-database if this one is disposable."
        )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


# --- Setup and cleanup ----------------------------------------------------------------------------


def forget_changes(entity_ids: list[str]) -> None:
    """Delete the change log of these (bench) entities: their changes, routed or not, would otherwise be routed
    by the next script's worker, ahead of what it measures."""
    from automation.models import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery, Transition

    for start in range(0, len(entity_ids), 1000):
        ids = entity_ids[start:start + 1000]
        Transition.objects.filter(entity_id__in=ids).delete()
        changes = ChangeEvent.objects.filter(entity_id__in=ids)
        DerivedTriggerEvent.objects.filter(change__in=changes).delete()
        SubscriptionDelivery.objects.filter(change__in=changes).delete()
        changes.delete()


def create_rows(rows: int) -> tuple[list[str], list[str]]:
    """Create `rows` systems through the service and as many plain rows; return both id lists."""
    from django.db import connection, transaction

    from catalog.services import system_create

    run = uuid.uuid4().hex[:8]
    system_ids, plain_ids = [], []
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        # Same shape as catalog_system's tracked columns: uuid key, unique name, text, jsonb.
        cursor.execute(
            f"CREATE TABLE {PLAIN_TABLE} (id uuid PRIMARY KEY, name text NOT NULL UNIQUE, "
            "description text NOT NULL, metadata jsonb NOT NULL)"
        )
    for i in range(rows):
        with transaction.atomic():
            system = system_create(name=f"{PREFIX}{run}-{i}", description="", metadata={}, actor=ACTOR)
        system_ids.append(str(system.pk))
        plain_ids.append(str(uuid.uuid4()))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {PLAIN_TABLE} (id, name, description, metadata) VALUES (%s, %s, '', '{{}}')",
                [plain_ids[-1], f"{PREFIX}{run}-{i}"],
            )
    return system_ids, plain_ids


def clean_up() -> None:
    """Drop the plain table, delete the bench's systems through the service, then purge the bench's log.

    The log purge is why the bench wants a database of its own: it removes every transition and change
    event whose actor is "bench", so repeated runs do not measure an ever-growing change log.
    """
    from django.db import connection, transaction

    from automation.models import ChangeEvent, Transition
    from catalog.models import System
    from catalog.services import system_delete

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
    for system in System.objects.filter(name__startswith=PREFIX):
        with transaction.atomic():
            system_delete(system=system, actor=ACTOR)
    Transition.objects.filter(actor=ACTOR).delete()
    ChangeEvent.objects.filter(actor=ACTOR).delete()


# --- Measurement ----------------------------------------------------------------------------------


def run_threads(
    threads: int, seconds: float, make_op: Callable[[int, int], Callable[[], None]]
) -> tuple[float, float]:
    """Run `make_op(index, threads)()` in a loop on each thread for `seconds`.

    Returns operations per second and this process's CPU milliseconds per operation (all threads: with
    the GIL, that figure bounds what more threads can add). Each thread has its own connection (Django's
    are per thread) and closes it when done.
    """
    from django.db import connections

    clock: dict[str, float] = {}
    barrier = threading.Barrier(
        threads, action=lambda: clock.update(start=time.perf_counter(), cpu=time.process_time())
    )
    counts, ends, errors = [0] * threads, [0.0] * threads, []

    def body(index: int) -> None:
        try:
            op = make_op(index, threads)
            barrier.wait()
            deadline = clock["start"] + seconds
            done = 0
            while time.perf_counter() < deadline:
                op()
                done += 1
            counts[index], ends[index] = done, time.perf_counter()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    workers = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    cpu = time.process_time() - clock.get("cpu", 0.0)
    if errors:
        raise errors[0]
    done = sum(counts)
    return done / (max(ends) - clock["start"]), 1000 * cpu / done


def service_op(system_ids: list[str], fields: tuple[str, ...] = FIELD_SETS[3]):
    """Build make_op: each thread changes `fields` of its own slice of systems through system_update."""

    def make_op(index: int, threads: int) -> Callable[[], None]:
        from catalog.models import System
        from catalog.services import system_update

        mine = list(System.objects.filter(pk__in=system_ids[index::threads]))
        bases = [system.name.split("~")[0] for system in mine]
        step = 0

        def op() -> None:
            nonlocal step
            step += 1
            slot = step % len(mine)
            values = {"name": f"{bases[slot]}~{step}", "description": f"d{step}", "metadata": {"n": step}}
            system_update(system=mine[slot], actor=ACTOR, **{field: values[field] for field in fields})

        return op

    return make_op


def plain_model():
    """An unmanaged model over the plain table: the baseline is Django's own `QuerySet.update()`."""
    from django.db import models

    class PlainSystem(models.Model):
        id = models.UUIDField(primary_key=True)
        name = models.TextField()
        description = models.TextField()
        metadata = models.JSONField()

        class Meta:
            app_label = "automation"
            managed = False
            db_table = PLAIN_TABLE

        def __str__(self):
            return self.name

    return PlainSystem


def plain_op(plain_ids: list[str]):
    """Build make_op: each thread runs the same 3-column `update()` on its own slice of the plain table."""
    model = plain_model()

    def make_op(index: int, threads: int) -> Callable[[], None]:
        from django.db import transaction

        mine = plain_ids[index::threads]
        step = 0

        def op() -> None:
            nonlocal step
            step += 1
            slot = step % len(mine)
            with transaction.atomic():
                model.objects.filter(pk=mine[slot]).update(
                    name=f"{mine[slot]}~{step}", description=f"d{step}", metadata={"n": step}
                )

        return op

    return make_op


def queries_per_mutation(system_ids: list[str]) -> tuple[dict[str, float], list[str]]:
    """Count the queries (BEGIN and COMMIT included) of CAPTURED_MUTATIONS service mutations per field count.

    Returns the averages and the statements of one 3-field mutation.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts, sample = {}, []
    for changed, fields in FIELD_SETS.items():
        op = service_op(system_ids, fields)(0, 1)
        with CaptureQueriesContext(connection) as captured:
            for _ in range(CAPTURED_MUTATIONS):
                op()
        counts[str(changed)] = len(captured.captured_queries) / CAPTURED_MUTATIONS
        per = len(captured.captured_queries) // CAPTURED_MUTATIONS
        sample = [query["sql"] for query in captured.captured_queries[-per:]]
    return counts, sample


# --- Report ---------------------------------------------------------------------------------------


def statement_summary(sql: str) -> str:
    """First words of a statement, enough to tell the round trips apart."""
    words = sql.split()
    head = " ".join(words[:3])
    if "FOR UPDATE" in sql:
        head += " … FOR UPDATE"
    if "UNNEST" in sql:
        head += " … SELECT * FROM UNNEST(…) (all rows, one statement)"
    return head


def print_report(figures: dict, cpu_ms: dict, sample: list[str], rows: int, threads: int) -> None:
    print(f"\nCheckstack mutation bench: PostgreSQL {figures['postgres']}, {figures['seconds']:g} s per measurement,")
    print(f"{rows} rows split between the threads (no two threads touch the same row), one transaction per write.")
    print("Write path only: CHECKSTACK_FAST_PATH=false, so no Celery wake-up is published at commit.\n")
    print(f"{'path':<44}{'threads':>8}{'writes/s':>11}{'ratio':>7}{'client CPU ms/write':>21}")
    for key, count in (("1t", 1), ("8t", threads)):
        for label, path in (("plain QuerySet.update() of 3 columns (untracked table)", "plain"), (SERVICE_LABEL,
                                                                                                  "service")):
            ratio = f"{figures['ratio_' + key]:.2f}" if path == "service" else ""
            rate, cpu = figures[f"{path}_{key}"], cpu_ms[f"{path}_{key}"]
            print(f"{label:<44}{count:>8}{rate:>11.1f}{ratio:>7}{cpu:>21.2f}")
    print("\nqueries per service mutation (BEGIN/COMMIT included), by tracked fields changed:")
    print("  " + ", ".join(f"{n} field(s): {q:.2f}" for n, q in figures["queries_per_mutation"].items()))
    print("one 3-field mutation, statement by statement:")
    for sql in sample:
        print(f"  {statement_summary(sql)}")
    print()


def main() -> None:
    args = parse_args()
    configure_environment()
    import django

    django.setup()
    from django.core.management import call_command

    version = check_database(args.any_database)
    call_command("migrate", verbosity=0)
    clean_up()  # leftovers of an interrupted run
    try:
        system_ids, plain_ids = create_rows(args.rows)
        figures, cpu_ms = {}, {}
        for key, threads in (("1t", 1), ("8t", args.threads)):
            for path, make_op in (("plain", plain_op(plain_ids)), ("service", service_op(system_ids))):
                figures[f"{path}_{key}"], cpu_ms[f"{path}_{key}"] = run_threads(threads, args.seconds, make_op)
            figures[f"ratio_{key}"] = figures[f"service_{key}"] / figures[f"plain_{key}"]
        figures["queries_per_mutation"], sample = queries_per_mutation(system_ids)
    finally:
        clean_up()
    figures.update(seconds=args.seconds, postgres=version)
    print_report(figures, cpu_ms, sample, args.rows, args.threads)
    ordered = ("service_1t", "plain_1t", "ratio_1t", "service_8t", "plain_8t", "ratio_8t")
    result = {key: round(figures[key], 3) for key in ordered}
    result.update(queries_per_mutation=figures["queries_per_mutation"], seconds=args.seconds, postgres=version)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
