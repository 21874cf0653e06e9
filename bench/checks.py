"""Checks at scale: 1,000 HTTP checks every 30 s against a local server, real worker and beat.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/checks.py

Creates `--checks` systems whose health their checks set (failure threshold 1, no latency rule), one HTTP
check each (`--interval` s, timeout 5 s) against an HTTP server in this process (path /s/<n>; 503 for the
systems flipped down), disabled at first. Starts a private redis-server (port 6394, BENCH_REDIS_PORT
overrides), one worker (`--concurrency`, every queue, as the Procfile's) and beat; once the worker answers,
enables every check at once and lets them run for `--seconds`: after a third of it the first `--flip`
systems' server answers 503, after two thirds 200 again.

Figures:
- start lateness: a run's start (its result's `at`) minus the due time it was claimed for, read by polling
  the checks' `next_run_at` every 0.5 s from this process (p50, p99, max; target p99 <= 2 s);
- health transitions written (status transitions of the bench systems) against status changes (counted from
  each system's results in order: its first result, then every ok/failed flip); they must be equal, so
  unchanged results write nothing;
- results written and runs per second, and the worst lateness of each 10 s (where a tail comes from).
The last output line is one JSON object.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from bisect import bisect_right
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutations import check_database, configure_environment  # noqa: E402
from routing import BROKER, noop_round_trips, pct, start_services, stop_services  # noqa: E402

PREFIX = "bench-checks-"
TARGET_P99_S = 2.0


class Target:
    """The monitored servers: one HTTP server, a path per system; the systems in `down` answer 503."""

    def __init__(self):
        self.down: set[int] = set()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                number = int(self.path.rsplit("/", 1)[1])
                self.send_response(503 if number in target.down else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that hung up: nothing to report

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def cleanup():
    from automation.models import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery, Transition
    from catalog.models import System
    from catalog.services import system_delete

    ids = []
    for system in System.objects.filter(name__startswith=PREFIX):
        ids.append(str(system.pk))
        system_delete(system=system, actor="bench")
    if ids:
        Transition.objects.filter(entity_id__in=ids).delete()
        changes = ChangeEvent.objects.filter(entity_id__in=ids)
        DerivedTriggerEvent.objects.filter(change__in=changes).delete()
        SubscriptionDelivery.objects.filter(change__in=changes).delete()
        changes.delete()


def create(n: int, interval: int, url: str) -> dict[str, int]:
    """`n` checks-managed systems with one HTTP check each; {check id: system number}."""
    from catalog.models import HealthSource
    from catalog.services import system_create
    from checks.models import Check, CheckKind

    numbers = {}
    for i in range(n):
        system = system_create(name=f"{PREFIX}{i:05d}", actor="bench")
        system.health_source, system.health_failure_threshold = HealthSource.CHECKS, 1
        system.save()
        check = Check.objects.create(system=system, name="http", kind=CheckKind.HTTP, url=f"{url}/s/{i}",
                                     interval_seconds=interval, timeout_seconds=5, enabled=False)
        numbers[str(check.pk)] = i
    return numbers


def wait_routed(timeout: float = 120):
    """Until every change committed so far is routed (the systems' creation), so it does not load the runs."""
    from automation.models import ChangeEvent

    deadline = time.monotonic() + timeout
    while ChangeEvent.objects.filter(routed_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.5)


def watch_dues(stop: threading.Event, dues: dict):
    """Record every due time each bench check had (its `next_run_at`), polling every 0.5 s (a due time is set
    an interval ahead; a first one set less than 0.5 s ahead may be missed, and its run is left out)."""
    from django.db import connection

    from checks.models import Check

    while not stop.is_set():
        for pk, due in Check.objects.filter(system__name__startswith=PREFIX).values_list("pk", "next_run_at"):
            if due is not None:
                dues[str(pk)].add(due)
        time.sleep(0.5)
    connection.close()


def lateness(results, dues, interval: int) -> list[tuple]:
    """(start, lateness s) of each run: its start minus the latest due time seen at or before it (runs with
    none within an interval are left out)."""
    ordered = {pk: sorted(values) for pk, values in dues.items()}
    out = []
    for pk, at in results:
        values = ordered.get(str(pk), [])
        index = bisect_right(values, at)
        if index:
            late = (at - values[index - 1]).total_seconds()
            if late < interval:
                out.append((at, late))
    return out


def worst_by_window(late: list[tuple], seconds: int = 10) -> list[float]:
    """The largest lateness in each `seconds` of the run, in order (where the tail comes from)."""
    if not late:
        return []
    first = min(at for at, _ in late)
    windows = defaultdict(float)
    for at, value in late:
        bucket = int((at - first).total_seconds() // seconds)
        windows[bucket] = max(windows[bucket], value)
    return [round(windows[b], 1) for b in range(max(windows) + 1)]


def status_changes(results) -> int:
    """Status changes the results amount to under threshold 1: each check's first result, then each flip."""
    by_check = defaultdict(list)
    for pk, at, ok in results:
        by_check[pk].append((at, ok))
    changes = 0
    for runs in by_check.values():
        runs.sort()
        changes += 1 + sum(1 for (_, a), (_, b) in pairwise(runs) if a != b)
    return changes


def measure(args, tmp: Path) -> dict:
    from automation.models import Transition
    from catalog.models import System
    from checks.models import Check, CheckResult

    target = Target()
    create(args.checks, args.interval, target.url)  # disabled until the worker is up and has routed their creation
    ids = [str(pk) for pk in System.objects.filter(name__startswith=PREFIX).values_list("pk", flat=True)]
    processes = start_services(tmp, beat=True, concurrency=args.concurrency)
    dues, stop = defaultdict(set), threading.Event()
    watcher = threading.Thread(target=watch_dues, args=(stop, dues), daemon=True)
    try:
        noop_round_trips(1)  # the worker is up: a start-up delay is not lateness of the scheduler
        wait_routed()
        watcher.start()
        # Enabled at once, as after a restore: the scheduler spreads the first runs over the interval.
        Check.objects.filter(system__name__startswith=PREFIX).update(enabled=True)
        started = time.monotonic()
        flipped = range(args.flip)
        time.sleep(args.seconds / 3)
        target.down.update(flipped)
        print(f"t+{time.monotonic() - started:.0f}s: {args.flip} systems down", flush=True)
        time.sleep(args.seconds / 3)
        target.down.clear()
        print(f"t+{time.monotonic() - started:.0f}s: back up", flush=True)
        time.sleep(args.seconds / 3)
    finally:
        stop_services(processes)
        stop.set()
        if watcher.is_alive():
            watcher.join()
    elapsed = time.monotonic() - started
    rows = list(CheckResult.objects.filter(check_ref__system__name__startswith=PREFIX)
                .values_list("check_ref_id", "at", "ok"))
    timed = lateness([(pk, at) for pk, at, _ in rows], dues, args.interval)
    late = [value for _, value in timed]
    transitions = Transition.objects.filter(kind="health", field="status", entity_id__in=ids).count()
    return {
        "checks": args.checks, "interval_s": args.interval, "seconds": round(elapsed), "flipped": args.flip,
        "results": len(rows), "runs_per_s": round(len(rows) / elapsed, 1),
        "lateness_p50_s": round(statistics.median(late), 3), "lateness_p99_s": round(pct(late, 99), 3),
        "lateness_max_s": round(max(late), 3), "lateness_samples": len(late),
        "lateness_max_per_10s": worst_by_window(timed),
        "status_changes": status_changes(rows), "transitions_written": transitions,
        "failed_results": sum(1 for *_, ok in rows if not ok),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--flip", type=int, default=100, help="systems whose server goes down and back up")
    parser.add_argument("--concurrency", type=int, default=4, help="the worker's processes")
    parser.add_argument("--quick", action="store_true", help="100 checks every 10 s for 45 s")
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.checks, args.interval, args.seconds, args.flip = 100, 10, 45.0, 10
    configure_environment()
    os.environ["CELERY_BROKER_URL"] = BROKER  # this process pings the worker through the private broker
    import django

    django.setup()
    version = check_database(args.any_database)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    cleanup()
    tmp = Path(tempfile.mkdtemp(prefix="bench-checks-"))
    try:
        r = measure(args, tmp)
    finally:
        cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{r['checks']} HTTP checks every {r['interval_s']} s for {r['seconds']} s: {r['results']} results "
          f"({r['runs_per_s']}/s), {r['failed_results']} failed")
    print(f"start lateness p50 {r['lateness_p50_s']} s, p99 {r['lateness_p99_s']} s, max {r['lateness_max_s']} s "
          f"({r['lateness_samples']} runs; target p99 <= {TARGET_P99_S} s)")
    print(f"worst lateness per 10 s: {r['lateness_max_per_10s']}")
    print(f"health transitions written {r['transitions_written']}, status changes {r['status_changes']} "
          f"({'equal' if r['transitions_written'] == r['status_changes'] else 'DIFFERENT'})")
    print(json.dumps({**r, "target_p99_s": TARGET_P99_S, "postgres": version}))


if __name__ == "__main__":
    main()
