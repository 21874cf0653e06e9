"""Remote probers at scale: 3 real prober processes × 1,000 HTTP checks every 30 s, against gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/probers.py \
        [--checks 1000] [--interval 30] [--seconds 90] [--concurrency 50]

Creates `--checks` systems whose health their checks set, one HTTP check each run from three locations
(against an HTTP server in this process), starts gunicorn (2 workers × 4 threads) on the database and three
`checkstack_prober` processes with no database or broker in their environment, spreads the first runs over an
interval and lets them run for `--seconds`. No Celery: the probers are the only runners.

Figures:
- start lateness: a result's run start minus the due time it was claimed for (each placement's `next_run_at`,
  polled every 0.5 s from this process), p50 / p99 / max; target p99 <= 2 s;
- results ingested per second over the measured window;
- the core's CPU (gunicorn master and workers, from /proc) per 1,000 results ingested.
The last output line is one JSON object.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from bisect import bisect_right
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(Path(__file__).resolve().parent))  # after ROOT: `checks` must stay the app

from mutations import check_database, configure_environment, forget_changes  # noqa: E402
from ok_server import ok_server  # noqa: E402

PREFIX = "bench-probers-"
TARGET_P99_S = 2.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Target:
    """The monitored servers: one local HTTP server answering 200 on every path."""

    def __init__(self):
        self.server = ok_server()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def pct(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def cleanup():
    from catalog.models import System
    from catalog.services import system_delete
    from checks.locations.services import location_delete
    from checks.models import Location

    ids = []
    for system in System.objects.filter(name__startswith=PREFIX):
        ids.append(str(system.pk))
        system_delete(system=system, actor="bench")
    for location in Location.objects.filter(name__startswith=PREFIX):
        ids.append(str(location.pk))
        location_delete(location=location, actor="bench")
    forget_changes(ids)  # no worker runs here: unrouted, they would load the next script's worker


def create(n: int, interval: int, url: str):
    """Three locations (and their tokens) and `n` systems with one disabled HTTP check run from all three."""
    from catalog.models import HealthSource
    from catalog.services import system_create
    from checks.locations.services import location_create
    from checks.models import Check, CheckKind, CheckLocation

    issued = [location_create(name=f"{PREFIX}{name}", actor="bench") for name in ("eu", "us", "ap")]
    placements = []
    for i in range(n):
        system = system_create(name=f"{PREFIX}{i:05d}", actor="bench", health_source=HealthSource.CHECKS,
                               health_failure_threshold=1)
        check = Check.objects.create(system=system, name="http", kind=CheckKind.HTTP, url=f"{url}/s/{i}",
                                     interval_seconds=interval, timeout_seconds=5, enabled=False)
        placements += [CheckLocation(check_ref=check, location=it.location) for it in issued]
    CheckLocation.objects.bulk_create(placements)
    return issued


def enable(interval: int) -> None:
    """Every bench check enabled, first runs spread over one interval."""
    from django.db import transaction
    from django.utils import timezone

    from checks.models import Check, CheckLocation

    now = timezone.now()
    with transaction.atomic():
        rows = list(CheckLocation.objects.filter(location__name__startswith=PREFIX))
        for row in rows:
            row.next_run_at = now + timedelta(seconds=random.uniform(1, interval))
        CheckLocation.objects.bulk_update(rows, ["next_run_at"], batch_size=1000)
        Check.objects.filter(system__name__startswith=PREFIX).update(enabled=True)


def watch_dues(stop: threading.Event, dues: dict) -> None:
    from django.db import connection

    from checks.models import CheckLocation

    while not stop.is_set():
        rows = CheckLocation.objects.filter(location__name__startswith=PREFIX).values_list(
            "check_ref_id", "location_id", "next_run_at")
        for check_id, location_id, due in rows:
            if due is not None:
                dues[(check_id, location_id)].add(due)
        time.sleep(0.5)
    connection.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its children (gunicorn's workers), from /proc."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def start_processes(args, issued, tmp: Path):
    db_env = dict(os.environ, CHECKSTACK_PROBER_RATE_LIMIT="100000", PYTHONUNBUFFERED="1")
    port = 18000 + os.getpid() % 1000
    web = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "checkstack.wsgi", "--bind",
                            f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"], cwd=ROOT, env=db_env,
                           stdout=open(tmp / "web.log", "ab"), stderr=subprocess.STDOUT)
    prober_env = {k: v for k, v in os.environ.items()
                  if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}}
    prober_env.update(PYTHONUNBUFFERED="1", CHECKSTACK_VAR_DIR=str(tmp))
    time.sleep(3)
    probers = [subprocess.Popen([sys.executable, "manage.py", "checkstack_prober", "--url", f"http://127.0.0.1:{port}",
                                 "--token", it.token, "--concurrency", str(args.concurrency)], cwd=ROOT,
                                env=prober_env, stdout=open(tmp / f"prober-{i}.log", "ab"), stderr=subprocess.STDOUT)
               for i, it in enumerate(issued)]
    return web, probers


def lateness(results, dues) -> list[float]:
    late = []
    for check_id, location_id, at in results:
        seen = sorted(dues.get((check_id, location_id), ()))
        index = bisect_right(seen, at) - 1
        if index >= 0:
            late.append((at - seen[index]).total_seconds())
    return late


def measure(args, issued, tmp: Path) -> dict:
    from django.utils import timezone

    from checks.models import CheckResult

    web, probers = start_processes(args, issued, tmp)
    dues: dict = defaultdict(set)
    stop = threading.Event()
    try:
        time.sleep(5)  # gunicorn up, probers heartbeating
        watcher = threading.Thread(target=watch_dues, args=(stop, dues), daemon=True)
        watcher.start()
        enable(args.interval)
        time.sleep(args.interval)  # the first spread interval: steady state from here
        started, cpu_before = timezone.now(), cpu_seconds(web.pid)
        time.sleep(args.seconds)
        ended, cpu_after = timezone.now(), cpu_seconds(web.pid)
    finally:
        stop.set()
        for process in (*probers, web):
            process.terminate()
        for process in (*probers, web):
            process.wait(timeout=30)
    rows = list(CheckResult.objects.filter(location__name__startswith=PREFIX, at__gte=started, at__lt=ended)
                .values_list("check_ref_id", "location_id", "at"))
    late = lateness(rows, dues)
    window = (ended - started).total_seconds()
    return {"checks": args.checks, "locations": 3, "interval_s": args.interval, "window_s": round(window, 1),
            "results": len(rows), "expected": round(3 * args.checks * window / args.interval),
            "results_per_s": round(len(rows) / window, 1),
            "lateness_p50_s": round(pct(late, 0.5) or 0, 3), "lateness_p99_s": round(pct(late, 0.99) or 0, 3),
            "lateness_max_s": round(max(late, default=0), 3), "target_p99_s": TARGET_P99_S,
            "core_cpu_s_per_1000_results": round((cpu_after - cpu_before) / max(1, len(rows)) * 1000, 2)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=90)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    configure_environment()
    import django

    django.setup()
    from django.core.management import call_command

    print("PostgreSQL", check_database(args.any_database))
    call_command("migrate", "--noinput", verbosity=0)
    cleanup()
    target = Target()
    issued = create(args.checks, args.interval, target.url)
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-probers-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        figures = measure(args, issued, tmp)
    finally:
        cleanup()
    print(f"{figures['results']} results in {figures['window_s']} s (expected ~{figures['expected']}): "
          f"{figures['results_per_s']}/s; start lateness p50 {figures['lateness_p50_s']} s, "
          f"p99 {figures['lateness_p99_s']} s (target <= {TARGET_P99_S}), max {figures['lateness_max_s']} s; "
          f"core CPU {figures['core_cpu_s_per_1000_results']} s per 1,000 results")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
