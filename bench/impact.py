"""How long a change's impact takes to recompute on a large dependency graph.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench \
        .venv/bin/python bench/impact.py [--systems 1000] [--edges 3000] [--changes 100]

PostgreSQL only, and only a database you named: it migrates it, writes `--systems` systems (actor "bench")
with their health and `--edges` dependency edges (a random acyclic graph: each edge goes from a system to
one created before it, so the oldest systems have the most dependents), and removes them at the end.

Then, for `--changes` systems picked at random, a health report that flips the system's status (unhealthy,
and back to healthy), measuring:
- recompute: `catalog.impact.impact_plan`, what the health change runs to know which impacts changed (the
  whole graph and every health read in three queries, then computed in memory); target p50 and p99 < 50 ms;
- report: the whole `health_report` transaction, the impact writes of every dependent it reached included
  (one tracked change each, so it grows with the number of dependents whose impact changed).
The last line of output is one JSON object.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

ACTOR = "bench"
PREFIX = "bench-impact-"
TARGET_MS = 50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=3000)
    parser.add_argument("--changes", type=int, default=100, help="health flips measured (half down, half up)")
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--any-database", action="store_true",
                        help="allow a database whose name does not contain 'bench' (it is migrated and written to)")
    return parser.parse_args()


def configure_environment() -> None:
    if not os.environ.get("DATABASE_URL"):
        sys.exit("bench/impact.py needs an explicit DATABASE_URL naming a disposable PostgreSQL database.")
    os.environ["DJANGO_SETTINGS_MODULE"] = "checkstack.settings"
    os.environ.setdefault("SECRET_KEY", "checkstack-bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ["CHECKSTACK_FAST_PATH"] = "false"  # no Celery publish at commit: the bench measures the writes
    os.environ["DEBUG"] = "false"


def check_database(any_database: bool) -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit(f"bench/impact.py measures PostgreSQL only; DATABASE_URL points at {connection.vendor}.")
    name = connection.settings_dict["NAME"]
    if "bench" not in name and not any_database:
        sys.exit(f"refusing to write to database {name!r}: its name does not contain 'bench'.")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def build_graph(systems: int, edges: int, rng: random.Random) -> list:
    """The systems (healthy) and a random acyclic graph of `edges` edges between them; the systems, oldest first."""
    from catalog.impact import graph_changed, impact_refresh
    from catalog.models import Dependency
    from catalog.services import health_report, system_create

    created = []
    for n in range(systems):
        system = system_create(name=f"{PREFIX}{n:05d}", actor=ACTOR)
        health_report(system=system, status="healthy", actor=ACTOR)
        created.append(system)
    pairs = set()
    while len(pairs) < edges:
        later = rng.randrange(1, systems)
        pairs.add((later, rng.randrange(0, later)))  # to an older system: never a cycle
    # Edges are not tracked state: written in bulk here, then every impact computed once (all healthy: no
    # impact changes, since nothing is worse than anything's own health).
    Dependency.objects.bulk_create(
        Dependency(system=created[a], depends_on=created[b], impact="partial" if (a + b) % 4 == 0 else "full")
        for a, b in sorted(pairs))
    graph_changed()
    impact_refresh(system_ids=[s.pk for s in created], actor=ACTOR)
    return created


def measure(created: list, changes: int, rng: random.Random) -> dict:
    from django.db import transaction

    from catalog.impact import impact_plan, load_graph
    from catalog.impact_graph import dependents_closure
    from catalog.services import health_report

    _deps, dependents = load_graph()
    recompute_ms, report_ms, reached = [], [], []
    picked = rng.sample(created, changes // 2)
    for status in ("unhealthy", "healthy"):
        for system in picked:
            with transaction.atomic():  # the plan as the health change computes it, its health already written
                start = time.perf_counter()
                impact_plan(system_ids=[system.pk])
                recompute_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            health_report(system=system, status=status, actor=ACTOR)  # commits on return
            report_ms.append((time.perf_counter() - start) * 1000)
            reached.append(len(dependents_closure({str(system.pk)}, dependents)) - 1)
    return {"recompute_ms": recompute_ms, "report_ms": report_ms, "dependents": reached}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def clean_up() -> None:
    from automation.models import ChangeEvent, Transition
    from catalog.models import Dependency, System
    from catalog.services import system_delete

    Dependency.objects.filter(system__name__startswith=PREFIX).delete()  # first: each delete is then alone
    for system in System.objects.filter(name__startswith=PREFIX):
        system_delete(system=system, actor=ACTOR)
    for model in (Transition, ChangeEvent):
        # In slices: one delete of every row would send its cascade's ids as more than 65,535 parameters.
        while ids := list(model.objects.filter(actor=ACTOR).values_list("pk", flat=True)[:5000]):
            model.objects.filter(pk__in=ids).delete()


def main() -> None:
    args = parse_args()
    configure_environment()
    import django

    django.setup()
    from django.core.management import call_command

    version = check_database(args.any_database)
    call_command("migrate", verbosity=0)
    clean_up()
    rng = random.Random(args.seed)
    try:
        started = time.perf_counter()
        created = build_graph(args.systems, args.edges, rng)
        setup_s = time.perf_counter() - started
        raw = measure(created, args.changes, rng)
    finally:
        clean_up()
    recompute, report = raw["recompute_ms"], raw["report_ms"]
    result = {
        "systems": args.systems, "edges": args.edges, "changes": len(recompute),
        "recompute": {"p50_ms": round(statistics.median(recompute), 2), "p99_ms": round(percentile(recompute, 99), 2)},
        "report_with_impact_writes": {"p50_ms": round(statistics.median(report), 2),
                                      "p99_ms": round(percentile(report, 99), 2)},
        "dependents_reached": {"p50": statistics.median(raw["dependents"]), "max": max(raw["dependents"])},
        "target_ms": TARGET_MS, "setup_s": round(setup_s, 1), "postgres": version,
    }
    print(f"impact of one health change, {args.systems} systems and {args.edges} edges, {len(recompute)} changes:")
    print(f"  recompute (impact_plan)  p50 {result['recompute']['p50_ms']} ms  p99 {result['recompute']['p99_ms']} ms"
          f"  (target < {TARGET_MS} ms)")
    print(f"  health_report with the impact writes  p50 {result['report_with_impact_writes']['p50_ms']} ms  "
          f"p99 {result['report_with_impact_writes']['p99_ms']} ms")
    print(f"  dependents reached per change: p50 {result['dependents_reached']['p50']}, "
          f"max {result['dependents_reached']['max']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
