"""Check capacity: HTTP checks per second one worker process sustains against a local server answering in 10 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/check_capacity.py \
        [--rates 25,50,75,100,150,200,250,300] [--baseline-rates 5,10,15,20,30] [--interval 10] [--window 20]

Creates a pool of HTTP checks (`--interval` s, timeout 5 s) on systems whose health their checks set, against
an HTTP server in a process of its own that answers every request after 10 ms. Starts a private redis-server
(BENCH_REDIS_PORT), one Celery worker with ONE pool process (`-c 1`, every queue: it also runs beat's ticks
and the routing) and beat. For each offered rate, rate × interval checks are enabled, their due times spread
over one interval; after one interval of warm-up, the runs of `--window` seconds are counted. A rate is
sustained when the runs reach 90 % of it (jitter alone stretches intervals by up to 2 %), the start
lateness p99 is at most 2 s and the backlog (checks due more than 2 s ago and not started) does not grow
over the window; the ramp stops at the first rate that is not. Capacity: the highest sustained rate. Then
the lateness p50 / p99 at 80 % of it, over one more window.

Baseline, in the same run: the same ramp with every claim its own message and one probe at a time
(CHECKSTACK_CHECKS_BATCH=1, CHECKSTACK_CHECKS_PROBE_THREADS=1), which is how a worker process ran checks
before batches. Start lateness: a run's start (its result's `at`) minus the due time it was claimed for, read
by polling the checks' `next_run_at` every 0.3 s. The last output line is one JSON object.
"""

import argparse
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from bisect import bisect_right
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutations import check_database, configure_environment, forget_changes  # noqa: E402
from routing import BROKER, noop_round_trips, pct, start_services, stop_services  # noqa: E402

PREFIX = "bench-capacity-"
CHECKS_PER_SYSTEM = 50
TARGET_P99_S = 2.0
ANSWER_S = 0.010


def serve(port_out) -> None:
    """The monitored server (in its own process, so its threads do not share this process's interpreter)."""
    from ok_server import ok_server

    server = ok_server(ANSWER_S)
    port_out.put(server.server_address[1])
    server.serve_forever()


def cleanup():
    from catalog.models import System
    from catalog.services import system_delete

    ids = []
    for system in System.objects.filter(name__startswith=PREFIX):
        ids.append(str(system.pk))
        system_delete(system=system, actor="bench")
    forget_changes(ids)


def wait_routed(timeout: float = 300) -> int:
    """Until no change is left unrouted (this run's systems, or a backlog another script left), so routing
    does not share the one worker process with the runs measured; the changes found unrouted at first."""
    from automation.models import ChangeEvent

    pending = ChangeEvent.objects.filter(routed_at__isnull=True, parked_at__isnull=True)
    found, deadline = pending.count(), time.monotonic() + timeout
    while pending.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def create(n: int, interval: int, url: str) -> list[str]:
    """`n` disabled HTTP checks, CHECKS_PER_SYSTEM to a checks-managed system; their ids."""
    from catalog.models import HealthSource
    from catalog.services import system_create
    from checks.models import Check, CheckKind

    rows = []
    for s in range(0, n, CHECKS_PER_SYSTEM):
        system = system_create(name=f"{PREFIX}{s:05d}", actor="bench", health_source=HealthSource.CHECKS,
                               health_failure_threshold=1)
        rows += [Check(system=system, name=f"http-{i}", kind=CheckKind.HTTP, url=f"{url}/c/{i}",
                       interval_seconds=interval, timeout_seconds=5, enabled=False)
                 for i in range(s, min(n, s + CHECKS_PER_SYSTEM))]
    Check.objects.bulk_create(rows, batch_size=1000)
    return [str(row.pk) for row in rows]


def offer(ids: list[str], count: int, interval: int) -> None:
    """Enable the first `count` checks (due times spread over one interval), disable the rest."""
    from django.db import transaction
    from django.utils import timezone

    from checks.models import Check

    now = timezone.now()
    with transaction.atomic():
        Check.objects.filter(pk__in=ids[count:]).update(enabled=False, next_run_at=None, lease_until=None)
        rows = list(Check.objects.filter(pk__in=ids[:count]))
        for row in rows:
            row.enabled, row.lease_until = True, None
            row.next_run_at = now + timedelta(seconds=random.uniform(0, interval))
        Check.objects.bulk_update(rows, ["enabled", "lease_until", "next_run_at"], batch_size=1000)


def watch_dues(stop: threading.Event, dues: dict, backlog: list) -> None:
    """Every due time each check had, polled every 0.3 s, and the backlog (due > 2 s ago, not started)."""
    from django.db import connection
    from django.utils import timezone

    from checks.models import Check

    while not stop.is_set():
        now = timezone.now()
        late = 0
        for pk, due, lease in Check.objects.filter(system__name__startswith=PREFIX, enabled=True).values_list(
                "pk", "next_run_at", "lease_until"):
            if due is not None:
                dues[str(pk)].add(due)
                late += lease is None and due < now - timedelta(seconds=2)
        backlog.append((time.monotonic(), late))
        time.sleep(0.3)
    connection.close()


def lateness(rows, dues, interval: int) -> list[float]:
    ordered = {pk: sorted(values) for pk, values in dues.items()}
    out = []
    for pk, at in rows:
        values = ordered.get(str(pk), [])
        index = bisect_right(values, at)
        if index and (late := (at - values[index - 1]).total_seconds()) < interval:
            out.append(late)
    return out


def step(ids, rate: float, args) -> dict:
    """Offer `rate` checks/s; the runs, lateness and backlog of one window after one interval of warm-up."""
    from django.utils import timezone

    from checks.models import CheckResult

    count = min(len(ids), round(rate * args.interval))
    dues, backlog, stop = defaultdict(set), [], threading.Event()
    watcher = threading.Thread(target=watch_dues, args=(stop, dues, backlog), daemon=True)
    watcher.start()
    offer(ids, count, args.interval)
    time.sleep(args.interval)
    started, mark = timezone.now(), time.monotonic()
    time.sleep(args.window)
    ended = timezone.now()
    stop.set()
    watcher.join()
    rows = list(CheckResult.objects.filter(check_ref_id__in=ids[:count], at__gte=started, at__lt=ended)
                .values_list("check_ref_id", "at"))
    late = lateness(rows, dues, args.interval)
    inside = [late for at, late in backlog if at >= mark]
    runs_per_s = len(rows) / (ended - started).total_seconds()
    figures = {"offered_per_s": round(count / args.interval, 1), "runs_per_s": round(runs_per_s, 1),
               "lateness_p50_s": round(pct(late, 50), 3) if late else None,
               "lateness_p99_s": round(pct(late, 99), 3) if late else None,
               "backlog_first": inside[0] if inside else 0, "backlog_last": inside[-1] if inside else 0}
    figures["sustained"] = bool(late and runs_per_s >= 0.9 * count / args.interval
                                and figures["lateness_p99_s"] <= TARGET_P99_S
                                and figures["backlog_last"] <= max(5, figures["backlog_first"]))
    print(f"  offered {figures['offered_per_s']}/s: {figures['runs_per_s']} runs/s, lateness p50 "
          f"{figures['lateness_p50_s']} s p99 {figures['lateness_p99_s']} s, backlog {figures['backlog_first']} → "
          f"{figures['backlog_last']}: {'sustained' if figures['sustained'] else 'NOT sustained'}", flush=True)
    offer(ids, 0, args.interval)
    time.sleep(2)  # the last runs finish before the next step counts
    return figures


def ramp(ids, rates: list[float], args, tmp: Path, **env) -> dict:
    """The ramp with one worker process (`env` its settings); the capacity and lateness at 80 % of it."""
    processes = start_services(tmp, beat=True, concurrency=1, CHECKSTACK_CHECKS_MAX_IN_FLIGHT=5000, **env)
    try:
        noop_round_trips(1)  # the worker is up
        if backlog := wait_routed():
            print(f"  ({backlog} unrouted changes routed before measuring)", flush=True)
        steps = []
        for rate in rates:
            steps.append(step(ids, rate, args))
            if not steps[-1]["sustained"]:
                break
        sustained = [s["runs_per_s"] for s in steps if s["sustained"]]
        capacity = max(sustained, default=0.0)
        at_80 = step(ids, 0.8 * capacity, args) if capacity else None
    finally:
        stop_services(processes)
    return {"steps": steps, "capacity_per_s": capacity, "at_80_percent": at_80}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="25,50,75,100,150,200,250,300")
    parser.add_argument("--baseline-rates", default="5,10,15,20,30")
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="two short steps each")
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rates, args.baseline_rates, args.window = "50,100", "10,20", 10.0
    rates = [float(r) for r in args.rates.split(",")]
    baseline_rates = [float(r) for r in args.baseline_rates.split(",")]
    ports = multiprocessing.Queue()
    target = multiprocessing.Process(target=serve, args=(ports,), daemon=True)
    target.start()  # forked before Django is set up: a small process
    url = f"http://127.0.0.1:{ports.get(timeout=10)}"
    configure_environment()
    os.environ["CELERY_BROKER_URL"] = BROKER
    import django

    django.setup()
    version = check_database(args.any_database)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    cleanup()
    tmp = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    try:
        ids = create(round(max(rates + baseline_rates) * args.interval), args.interval, url)
        print("baseline: one message per check, one probe at a time (CHECKSTACK_CHECKS_BATCH=1, PROBE_THREADS=1)")
        baseline = ramp(ids, baseline_rates, args, tmp, CHECKSTACK_CHECKS_BATCH=1, CHECKSTACK_CHECKS_PROBE_THREADS=1)
        print("batched: CHECKSTACK_CHECKS_BATCH=50, CHECKSTACK_CHECKS_PROBE_THREADS=50")
        batched = ramp(ids, rates, args, tmp, CHECKSTACK_CHECKS_BATCH=50, CHECKSTACK_CHECKS_PROBE_THREADS=50)
    finally:
        target.terminate()
        shutil.rmtree(tmp, ignore_errors=True)
        cleanup()
    at_80 = batched["at_80_percent"] or {}
    result = {"interval_s": args.interval, "window_s": args.window, "answer_ms": ANSWER_S * 1000,
              "capacity_per_s": batched["capacity_per_s"], "baseline_capacity_per_s": baseline["capacity_per_s"],
              "ratio_vs_baseline": round(batched["capacity_per_s"] / baseline["capacity_per_s"], 1)
              if baseline["capacity_per_s"] else None,
              "at_80_percent_lateness_p50_s": at_80.get("lateness_p50_s"),
              "at_80_percent_lateness_p99_s": at_80.get("lateness_p99_s"), "target_per_s": 200,
              "target_p99_s": TARGET_P99_S, "batched": batched, "baseline": baseline, "postgres": version}
    print(f"capacity of one worker process: {result['capacity_per_s']} checks/s (baseline "
          f"{result['baseline_capacity_per_s']}/s, target >= 200); at 80 %: lateness p50 "
          f"{result['at_80_percent_lateness_p50_s']} s, p99 {result['at_80_percent_lateness_p99_s']} s "
          f"(target p99 <= {TARGET_P99_S} s)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
