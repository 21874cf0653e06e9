"""Health changes routed per second through real workers, with a fleet listening on the same event.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/fleet_throughput.py

200 systems, each with its own automation on `healthcheck.system_health_changed` filtering on its system (one
no-op step, automation.log); 4 client threads in this process report health changes of their own 50 systems
(alternating status, fast path on: each commit publishes its wake-up); the workers route them and walk the
runs. Figure: changes routed per second = changes ÷ (last `routed_at` − first report). Then 800 more such
automations, of 800 other systems that never change, on the same event, and the same again: the ratio with
the 800 ÷ without is the figure (target ≥ 0.8). Each is measured with one and with two worker processes
(`-c 1` each, as on two machines), in the order 1, 2 without the 800 and 2, 1 with them, so a drift of the
machine's load does not favour one worker count. The client rate (reports committed per second) is printed
too: when it is not well above the routed rate, the clients, not routing, set the figure.

Starts a private redis-server (port 6394, BENCH_REDIS_PORT overrides) and the workers it measures. The last
output line is one JSON object.
"""

import argparse
import json
import sys
import tempfile
import threading
import time
from itertools import cycle
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fleet  # the fleet's automations
import routing  # the private broker, worker start-up, the fleet's documents and cleanup

CLIENTS = 4


def report_changes(systems: list, changes: int) -> tuple[int, float]:
    """`changes` health reports of `systems` split among CLIENTS threads; returns (first change id, seconds)."""
    from django.db import connection

    from automation.models import ChangeEvent

    marker = ChangeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    shares = [systems[i::CLIENTS] for i in range(CLIENTS)]
    errors = []

    def client(own: list, count: int):
        from catalog.models import SystemHealth
        from catalog.services import health_report

        try:
            current = dict(SystemHealth.objects.filter(system__in=own).values_list("system_id", "status"))
            for system, _ in zip(cycle(own), range(count)):
                status = "healthy" if current.get(system.pk) == "degraded" else "degraded"
                health_report(system=system, status=status, actor="bench")  # commits on return
                current[system.pk] = status
        except Exception as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=client, args=(own, changes // CLIENTS + (i < changes % CLIENTS)))
               for i, own in enumerate(shares)]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return marker, started


def routed_per_second(systems: list, changes: int, *, timeout: float = 900) -> dict:
    """Report `changes` changes and wait until the workers routed them; the routed and the client rates."""
    from django.db.models import Max

    from automation.models import ACTIVE_STATUSES, ChangeEvent, Run

    marker, started = report_changes(systems, changes)
    reported = time.time() - started
    health = ChangeEvent.objects.filter(id__gt=marker, kind="health")
    deadline = time.monotonic() + timeout
    while health.filter(routed_at=None).exists() or Run.objects.filter(status__in=ACTIVE_STATUSES).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"changes still unrouted after {timeout} s: see the worker logs (BENCH_KEEP_LOGS=1)")
        time.sleep(0.1)
    last = health.aggregate(last=Max("routed_at"))["last"].timestamp()
    count = health.count()
    return {"routed_per_s": round(count / (last - started), 1), "client_reports_per_s": round(count / reported, 1),
            "changes": count}


def measure(tmp: Path, systems: list, changes: int, workers: int) -> dict:
    processes = routing.start_celery(tmp, workers=workers, concurrency=1)
    try:
        time.sleep(4)  # start-up
        routed_per_second(systems, 2 * CLIENTS)  # warm-up: the workers' first tasks import and connect
        figure = routed_per_second(systems, changes)
    finally:
        routing.stop_processes(processes)
    print(f"   {figure}", file=sys.stderr, flush=True)
    return figure


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", type=int, default=200, help="systems that change, each with its automation")
    parser.add_argument("--crowd", type=int, default=800, help="more automations, of systems that never change")
    parser.add_argument("--changes", type=int, default=200, help="health changes reported per measurement")
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    version = routing.setup_django("fleet_throughput.py", any_database=args.any_database)
    from django.conf import settings

    results = {}
    with tempfile.TemporaryDirectory(prefix="checkstack-bench-") as tmp:
        routing.start_redis(Path(tmp))
        try:
            # Set-up in this process, fast path off: nothing waits in the broker for the measured workers.
            settings.CHECKSTACK_FAST_PATH = False
            systems, _ = fleet.create_fleet(args.systems, enabled=args.systems)
            routing.route_in_process()
            settings.CHECKSTACK_FAST_PATH = True
            for workers in (1, 2):
                print(f"-- {workers} worker(s), {args.systems} automations", file=sys.stderr, flush=True)
                results[f"without_{workers}w"] = measure(Path(tmp), systems, args.changes, workers)
            settings.CHECKSTACK_FAST_PATH = False
            fleet.create_fleet(args.crowd, enabled=args.crowd, start=args.systems)
            routing.route_in_process()
            settings.CHECKSTACK_FAST_PATH = True
            for workers in (2, 1):
                print(f"-- {workers} worker(s), {args.systems + args.crowd} automations", file=sys.stderr, flush=True)
                results[f"with_{workers}w"] = measure(Path(tmp), systems, args.changes, workers)
        finally:
            try:
                settings.CHECKSTACK_FAST_PATH = False
                routing.clean()
                routing.route_in_process()
            finally:
                routing.stop_redis()
    figures = {**results, "systems": args.systems, "crowd": args.crowd, "clients": CLIENTS}
    for workers in (1, 2):
        figures[f"ratio_with_crowd_vs_without_{workers}w"] = round(
            results[f"with_{workers}w"]["routed_per_s"] / results[f"without_{workers}w"]["routed_per_s"], 3)
    for name, value in figures.items():
        print(f"{name:>36}: {value}")
    print(f"target: changes routed per second with the {args.crowd} ÷ without >= 0.8 (with two workers on 2 cores: "
          "a figure to read)")
    print(json.dumps({**figures, "postgres": version}))


if __name__ == "__main__":
    main()
