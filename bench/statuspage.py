"""The public status page at scale: uncached render time, and requests/s under gunicorn with and without a cache.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/statuspage.py \
        [--systems 500] [--groups 20] [--incidents 50] [--samples 30] [--seconds 10]

Empties the bench database (flush), then creates `--systems` systems in `--groups` groups through the services
(health reported, a dependency chain so some read "affected by"), each with one HTTP check, 89 days of daily
roll-ups (failures on about one day in fifteen; a tenth of the systems without data before 60 days ago) and
24 hours of quarter-hour buckets (the 90-day bars), `--incidents` resolved incidents in the history
plus three open ones, and maintenance in progress and upcoming.

- Uncached render: `GET /status/` and `GET /status/summary.json` in process (Django's test client), p50/p99.
- Under gunicorn (2 sync workers, the Procfile's server): requests/s of `GET /status/` from 4 client threads
  for `--seconds`, asking for gzip as browsers and proxies do: first with every request rendered, then with
  the cache headers honoured by Django's cache middleware (CHECKSTACK_STATUS_SERVER_CACHE, local memory cache
  per worker), as a caching proxy would; then cached again without compression (`Accept-Encoding: identity`).
Targets: uncached p50 ≤ 100 ms, cached ≥ 500 requests/s. The last output line is one JSON object.
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
import urllib.request
from datetime import UTC, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mutations import check_database, configure_environment  # noqa: E402

PORT = int(os.environ.get("BENCH_STATUS_PORT", "8795"))


def _failures(system: int, days_ago: int) -> int:
    """Failed runs of a system's day: about one day in fifteen has some (1 to 60 of 1,440), spread over the fleet."""
    spot = (system * 37 + days_ago * 11) % 15
    return 0 if spot else 1 + (system * days_ago) % 60


def populate(systems: int, groups: int, incidents: int) -> None:
    from django.utils import timezone

    from catalog.groups import group_create, group_set_systems
    from catalog.models import Dependency
    from catalog.services import health_report, system_create
    from checks.history import history_refresh
    from checks.models import Check, CheckBucketRollup, CheckDailyRollup
    from checks.uptime import BUCKET, series_start
    from incidents.services import incident_add_update, incident_create, incident_resolve
    from maintenance.services import maintenance_create

    now = timezone.now()
    created = [system_create(name=f"system-{n:04d}", actor="system") for n in range(systems)]
    # Every tenth system depends on the one before it: a tenth of the page reads "affected by".
    for n in range(10, systems, 10):
        Dependency.objects.create(system=created[n], depends_on=created[n - 1], impact="partial")
    for n, system in enumerate(created):
        status = "unhealthy" if n % 10 == 9 and n < 100 else "degraded" if n % 37 == 0 else "healthy"
        health_report(system=system, status=status, actor="system")
    per_group = systems // groups
    for g in range(groups):
        group = group_create(name=f"group-{g:02d}", position=g, actor="system")
        group_set_systems(group=group, system_ids=[s.pk for s in created[g * per_group:(g + 1) * per_group]],
                          actor="system")
    checks = Check.objects.bulk_create(Check(system=s, name="web", kind="http", url="http://127.0.0.1:9/",
                                             enabled=False) for s in created)
    today = now.astimezone(UTC).date()
    CheckDailyRollup.objects.bulk_create(
        (CheckDailyRollup(check_ref=c, day=today - timedelta(days=d), runs=1440, failures=_failures(i, d),
                          latency_p50_ms=40, latency_p95_ms=90, latency_max_ms=300)
         for i, c in enumerate(checks) for d in range(1, 90) if d < 60 or i % 10), batch_size=5000)
    history_refresh(now=now)  # what the roll-up refresh does after writing roll-ups
    start = series_start(now)
    CheckBucketRollup.objects.bulk_create(
        (CheckBucketRollup(check_ref=c, start=start + b * BUCKET, runs=15, failures=int(b == 40),
                           latencies=[40 + (b + k) % 20 for k in range(15)])
         for c in checks for b in range(int((now - start) / BUCKET) + 1)), batch_size=5000)
    for n in range(incidents + 3):
        incident = incident_create(title=f"Incident {n}", system_ids=[created[n].pk], initial_message="Looking",
                                   actor="system")
        incident_add_update(incident=incident, message="Found it", status_change="identified", actor="system")
        if n >= 3:
            incident_resolve(incident=incident, actor="system")
    maintenance_create(title="Running", system_ids=[created[-1].pk], start_at=now - timedelta(hours=1),
                       end_at=now + timedelta(hours=1), status="in_progress", actor="system")
    maintenance_create(title="Upcoming", system_ids=[created[-2].pk], start_at=now + timedelta(days=1),
                       end_at=now + timedelta(days=1, hours=1), actor="system")


def timed(path: str, samples: int) -> dict:
    from django.test import Client

    client = Client()
    packed = client.get(path, HTTP_ACCEPT_ENCODING="gzip")  # also warms the templates and connection
    assert packed.status_code == 200
    times, cpu = [], []
    for _ in range(samples):
        begin, begin_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        times.append((time.perf_counter() - begin) * 1000)
        cpu.append((time.process_time() - begin_cpu) * 1000)
        assert response.status_code == 200
    times.sort()
    # CPU time of this process (the database's own time excluded): on a shared machine, wall time also counts
    # the time other processes held the cores.
    return {"p50_ms": round(statistics.median(times), 1), "p99_ms": round(times[int(len(times) * 0.99) - 1], 1),
            "cpu_p50_ms": round(statistics.median(cpu), 1), "bytes": len(response.content),
            "gzip_bytes": len(packed.content)}


def throughput(cache: bool, seconds: float, *, encoding: str = "gzip") -> dict:
    env = {**os.environ, "CHECKSTACK_STATUS_SERVER_CACHE": "true" if cache else "false",
           "CACHE_URL": "locmemcache://status" if cache else os.environ.get("CACHE_URL", "locmemcache://")}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "checkstack.wsgi", "-w", "2", "-b",
                               f"127.0.0.1:{PORT}", "--log-level", "warning"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{PORT}/status/"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=30).read()
                break
            except OSError:
                time.sleep(0.1)
        done, counts = time.monotonic() + seconds, []

        def client():
            count = 0
            while time.monotonic() < done:
                # As browsers and proxies ask: gzip (the page is a tenth of its size); "identity" for comparison.
                request = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                count += 1
            counts.append(count)

        threads = [threading.Thread(target=client) for _ in range(4)]
        begin = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {"requests_per_s": round(sum(counts) / (time.monotonic() - begin), 1)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", type=int, default=500)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--quick", action="store_true", help="50 systems in 5 groups, 10 incidents, 3 s runs")
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.systems, args.groups, args.incidents, args.samples, args.seconds = 50, 5, 10, 10, 3
    configure_environment()
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    # DEBUG off serves hashed static names from collectstatic's manifest, as in production.
    os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix="checkstack-bench-static-"))
    import django

    django.setup()
    from django.core.management import call_command

    postgres = check_database(args.any_database)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    begin = time.perf_counter()
    populate(args.systems, args.groups, args.incidents)
    print(f"populated {args.systems} systems in {args.groups} groups in {time.perf_counter() - begin:.1f} s",
          flush=True)
    page, summary = timed("/status/", args.samples), timed("/status/summary.json", args.samples)
    print(f"uncached /status/ p50 {page['p50_ms']} ms p99 {page['p99_ms']} ms (CPU p50 {page['cpu_p50_ms']} ms, "
          f"{page['bytes']} bytes); summary.json p50 {summary['p50_ms']} ms (CPU {summary['cpu_p50_ms']} ms)",
          flush=True)
    plain, cached = throughput(False, args.seconds), throughput(True, args.seconds)
    identity = throughput(True, args.seconds, encoding="identity")
    print(f"gunicorn -w 2: {plain['requests_per_s']} req/s rendered, {cached['requests_per_s']} req/s cached "
          f"(gzip; {identity['requests_per_s']} req/s cached without compression)", flush=True)
    print(json.dumps({"postgres": postgres, "systems": args.systems, "groups": args.groups,
                      "incidents": args.incidents, "status_uncached": page, "summary_uncached": summary,
                      "gunicorn_rendered_per_s": plain["requests_per_s"],
                      "gunicorn_cached_per_s": cached["requests_per_s"],
                      "gunicorn_cached_identity_per_s": identity["requests_per_s"], "target_uncached_p50_ms": 100,
                      "target_cached_per_s": 500, "load_average_1m": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
