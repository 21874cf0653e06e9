"""Timer lateness with many pending timers, and the time one sweep takes, against PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/timers.py

Timers are rows fired by the sweep (`automation.engine.waiting.timers.timers_fire_due`) that beat runs every
CHECKSTACK_TIMER_INTERVAL_SECONDS (1 s). Here the sweep is called in-process on the same interval, so the
figures are the mechanism's own lateness (claim with SKIP LOCKED, mark, handle); the Celery hop that
carries beat's tick to a worker is measured by bench/routing.py. The timers are `wait_recheck` timers
whose owner matches no wait, so their handler does one indexed lookup and nothing else.
The last output line is one JSON object.
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

INTERVAL = 1.0


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(pending: int, spread: float) -> dict:
    from django.utils import timezone

    from automation.engine.waiting.timers import timers_fire_due
    from automation.models import Timer

    Timer.objects.filter(owner__startswith="bench-").delete()
    start = timezone.now() + timedelta(seconds=1)
    Timer.objects.bulk_create(
        (Timer(kind=Timer.Kind.WAIT_RECHECK, owner=f"bench-{i}", due_at=start + timedelta(seconds=spread * i / pending))
         for i in range(pending)), batch_size=2000)
    sweeps = []
    deadline = time.monotonic() + spread + 10
    while Timer.objects.filter(owner__startswith="bench-", fired_at=None).exists() and time.monotonic() < deadline:
        began = time.perf_counter()
        fired = timers_fire_due()
        if fired:
            sweeps.append((time.perf_counter() - began, fired))
        time.sleep(max(0.0, INTERVAL - (time.perf_counter() - began)))
    lateness = [(fired_at - due_at).total_seconds() for due_at, fired_at in
                Timer.objects.filter(owner__startswith="bench-").values_list("due_at", "fired_at") if fired_at]
    unfired = pending - len(lateness)
    Timer.objects.filter(owner__startswith="bench-").delete()
    per_sweep = [seconds for seconds, _ in sweeps]
    return {
        "pending": pending,
        "lateness_p50_s": round(statistics.median(lateness), 3),
        "lateness_p99_s": round(percentile(lateness, 99), 3),
        "unfired": unfired,
        "sweep_p50_s": round(statistics.median(per_sweep), 3),
        "sweep_max_s": round(max(per_sweep), 3),
        "timers_per_sweep_max": max(n for _, n in sweeps),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds over which the timers fall due")
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    configure_environment()
    import django

    django.setup()
    version = check_database(args.any_database)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    results = [measure(int(size), args.spread) for size in args.sizes.split(",")]
    print(f"{'pending':>8} {'late p50':>9} {'late p99':>9} {'sweep p50':>10} {'sweep max':>10} {'max/sweep':>10}")
    for r in results:
        print(f"{r['pending']:>8} {r['lateness_p50_s']:>9} {r['lateness_p99_s']:>9} {r['sweep_p50_s']:>10} "
              f"{r['sweep_max_s']:>10} {r['timers_per_sweep_max']:>10}")
    target = INTERVAL + 1.0
    print(f"target: p99 lateness within the sweep interval + 1 s = {target} s")
    print(json.dumps({"interval_s": INTERVAL, "target_p99_s": target, "results": results, "postgres": version}))


if __name__ == "__main__":
    main()
