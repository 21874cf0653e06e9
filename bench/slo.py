"""SLO evaluation at scale: seconds per evaluation pass and SQL statements per pass, over 30 days of roll-ups.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/slo.py \
        [--objectives 1000] [--days 30] [--today-results 60]

Creates `--objectives` systems, each with one check and one objective (every fifth a latency objective with its
day tallies, the rest availability objectives over the daily roll-ups), `--days` days of roll-ups per check and
`--today-results` results per check today (one a minute before now). Times `checks.slos.evaluation.slos_evaluate`
(median of 5 passes after a warm one) and counts its statements, at a tenth of the objectives too: the
statements must be the same (constant per pass), the time ≤ 1 s at 1,000. The last output line is one JSON
object.
"""

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutations import check_database, configure_environment

PREFIX = "bench-slo-"
ACTOR = "bench"


def populate(count: int, days: int, today_results: int) -> None:
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from catalog.services import system_create
    from checks.models import Check, CheckDailyRollup, CheckResult, SloDayTally
    from checks.slos.services import slo_create

    now = timezone.now()
    today = now.date()
    with transaction.atomic():
        systems = [system_create(name=f"{PREFIX}{n}", actor=ACTOR) for n in range(count)]
        checks = Check.objects.bulk_create(Check(system=s, name="api", kind="http", url="http://127.0.0.1:9/")
                                           for s in systems)
        slos = [slo_create(system=s, actor=ACTOR, name="objective", target_percent=Decimal("99.9"),
                           **({"indicator": "latency", "latency_threshold_ms": 300} if n % 5 == 0 else {}))
                for n, s in enumerate(systems)]
    for check in checks:
        CheckDailyRollup.objects.bulk_create(
            CheckDailyRollup(check_ref=check, day=today - timedelta(days=d), runs=1440, failures=d % 3)
            for d in range(1, days + 1))
        CheckResult.objects.bulk_create(
            CheckResult(check_ref=check, at=now - timedelta(minutes=m), ok=m % 50 != 0, latency_ms=100 + m)
            for m in range(today_results))
    SloDayTally.objects.bulk_create(
        SloDayTally(slo=slo, day=today - timedelta(days=d), total=1440, bad=d % 4, computed_at=now)
        for slo in slos if slo.indicator == "latency" for d in range(1, days + 1))


def clean_up() -> None:
    from django.db import transaction

    from automation.models import ChangeEvent, Transition
    from catalog.models import System
    from catalog.services import system_delete
    from checks.models import Slo
    from checks.slos.services import slo_delete

    with transaction.atomic():
        for slo in Slo.objects.filter(system__name__startswith=PREFIX):
            slo_delete(slo=slo, actor=ACTOR)
        for system in System.objects.filter(name__startswith=PREFIX):
            system_delete(system=system, actor=ACTOR)
    for model in (Transition, ChangeEvent):
        # In slices: one delete of every row would send its cascade's ids as more than 65,535 parameters.
        rows = model.objects.filter(actor__in=[ACTOR, "system:slos"])
        while ids := list(rows.values_list("pk", flat=True)[:5000]):
            model.objects.filter(pk__in=ids).delete()


def measure(slo_ids=None) -> dict:
    """Median seconds and statements of an evaluation pass (over the objectives `slo_ids`, or all)."""
    from django.db import connection

    from checks.models import Slo
    from checks.slos.evaluation import slos_evaluate, slos_figures

    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    def one_pass():
        if slo_ids is None:
            return slos_evaluate()
        from django.utils import timezone
        return slos_figures(slos=list(Slo.objects.filter(pk__in=slo_ids)), now=timezone.now())

    one_pass()  # warm: the first pass writes every objective's first band and status
    seconds = []
    for _ in range(5):
        statements.clear()
        began = time.perf_counter()
        with connection.execute_wrapper(count):
            one_pass()
        seconds.append(time.perf_counter() - began)
    return {"pass_s": round(statistics.median(seconds), 3), "statements": len(statements)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objectives", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--today-results", type=int, default=60)
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    configure_environment()
    import django

    django.setup()
    check_database(args.any_database)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)  # a fresh bench database (`bench/run.py --only slo`) has no tables yet

    from checks.models import Slo

    clean_up()
    populate(args.objectives, args.days, args.today_results)
    with connection.cursor() as cursor:
        for table in ("checks_checkdailyrollup", "checks_checkresult", "checks_slo", "checks_slodaytally"):
            cursor.execute(f"ANALYZE {table}")
    try:
        every = measure()
        tenth = measure([s.pk for s in Slo.objects.filter(system__name__startswith=PREFIX)[:args.objectives // 10]])
    finally:
        clean_up()
    figures = {"objectives": args.objectives, "days": args.days, "today_results_per_check": args.today_results,
               "pass_s": every["pass_s"], "statements_per_pass": every["statements"],
               "figures_tenth_s": tenth["pass_s"], "statements_tenth": tenth["statements"]}
    print(f"evaluation pass over {args.objectives} objectives: {every['pass_s']} s, {every['statements']} "
          f"statements (a tenth of them, figures only: {tenth['pass_s']} s, {tenth['statements']} statements)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
