"""Baselines and the engine's end-to-end figures, against PostgreSQL, a private Redis and real Celery processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/engine.py [--quick]

Measured in one run, each against a baseline from the same run:
- baselines: PostgreSQL single-row INSERT + COMMIT rate; Celery no-op round trip p50/p99 and no-op throughput
  with the same worker (`-c 2`, prefetch 1, acks late);
- commit → change event routed, p50/p99, with the fast path (a wake-up published at commit) and with it
  disabled (only beat's sweeper delivers: grace 1 s, sweep every 1 s); commit → first action started with the
  sweeper only (the fast-path figure is bench/routing.py's);
- end-to-end runs/s of a one-step automation at saturation (N health changes, each starting a run) vs no-op
  throughput (target: ratio >= 0.2; the absolute runs/s is printed beside it);
- wake latency of a wait_until: commit of the change it waits for → its run finished, with 10 and with 10,000
  unrelated waiting runs;
- a 200-step document through the validator (target: under 200 ms).
The last output line is one JSON object.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import routing  # shares the private broker, worker start-up and cleanup

PREFIX = routing.PREFIX


def summary(values):
    return routing.summary(values)


def phase(name: str) -> None:
    print(f"-- {name}", file=sys.stderr, flush=True)


def pg_insert_commit_rate(seconds: float) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_insert_baseline (id bigserial PRIMARY KEY, v text)")
    connection.commit() if not connection.get_autocommit() else None
    count, deadline = 0, time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:  # autocommit: each INSERT is its own transaction and commit
            cursor.execute("INSERT INTO bench_insert_baseline (v) VALUES (%s)", ["x"])
        count += 1
    elapsed = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_insert_baseline")
    return count / elapsed


def noop_throughput(n: int) -> float:
    import redis

    from checkstack.celery import app

    client = redis.Redis.from_url(routing.BROKER)
    key = f"bench:noop-throughput:{uuid.uuid4().hex}"
    started = time.monotonic()
    for _ in range(n):
        app.send_task("bench.noop", args=[key])
    while client.llen(key) < n:
        time.sleep(0.005)
    return n / (time.monotonic() - started)


def poll(fetch, *, timeout: float, what: str):
    """`fetch()` every 2 ms until it returns something; exit the bench after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if value is not None:
            return value
        time.sleep(0.002)
    raise SystemExit(f"timed out after {timeout} s waiting for {what}: see the Celery logs (BENCH_KEEP_LOGS=1)")


def commit_to_routed(samples: int, *, timeout: float = 30) -> list[float]:
    from automation.models import ChangeEvent
    from catalog.services import system_create

    out = []
    for _ in range(samples):
        system = system_create(name=f"{PREFIX}{uuid.uuid4().hex[:8]}", actor="bench")  # commits on return
        committed = time.time()
        changes = ChangeEvent.objects.filter(kind="system", entity_id=str(system.pk))
        routed = poll(lambda changes=changes: changes.values_list(
            "routed_at", flat=True).first(), timeout=timeout, what="a change to be routed")
        out.append(routed.timestamp() - committed)
    return out


def make_automation(document: dict):
    from automation.documents.validate import validate_document
    from automation.services.automations import automation_create

    result = validate_document(document)
    assert not result.errors, result.errors
    return automation_create(document=result.document, actor="bench", run_as=routing.bench_user())


def runs_per_second(n: int) -> float:
    from automation.models import Run, RunStatus
    from catalog.services import health_report, system_create

    automation = make_automation({
        "name": f"{PREFIX}saturation", "mode": "parallel", "max_runs": 1000,
        "triggers": [{"event": "healthcheck.system_degraded"}],
        "actions": [{"action": "automation.log", "config": {"message": "degraded"}}]})
    systems = [system_create(name=f"{PREFIX}{uuid.uuid4().hex[:8]}", actor="bench") for _ in range(n)]
    started = time.monotonic()
    for system in systems:
        health_report(system=system, status="degraded", actor="bench")
    deadline = time.monotonic() + 300
    while Run.objects.filter(automation=automation, status=RunStatus.SUCCEEDED).count() < n:
        if time.monotonic() > deadline:
            raise SystemExit("runs did not finish within 300 s: see the worker log")
        time.sleep(0.05)
    return n / (time.monotonic() - started)


def park_unrelated_waits(count: int, automation) -> None:
    """`count` waiting runs, each waiting on a condition that read another (unrelated) entity."""
    from automation.models import Run, RunStatus, Wait, WaitRead

    runs = Run.objects.bulk_create(
        Run(automation=automation, automation_version=1, document=automation.document, trigger_id="automation_manual",
            event="automation.manual", actor="bench", bucket=str(automation.pk), status=RunStatus.WAITING)
        for _ in range(count))
    waits = Wait.objects.bulk_create(Wait(run=run, path="actions.0", kind="until") for run in runs)
    WaitRead.objects.bulk_create(WaitRead(wait=wait, kind="health", entity_id=str(uuid.uuid4())) for wait in waits)


def wake_latency(samples: int, unrelated: int) -> list[float]:
    from automation.engine.runs.runner import run_advance
    from automation.models import Run, RunStatus
    from automation.services.runs import run_manual
    from catalog.services import health_report, system_create

    crowd = make_automation({"name": f"{PREFIX}crowd-{unrelated}-{uuid.uuid4().hex[:6]}",
                             "triggers": [{"event": "automation.manual"}],
                             "actions": [{"wait_until": {"condition": "false"}}]})
    park_unrelated_waits(unrelated, crowd)
    out = []
    for _ in range(samples):
        system = system_create(name=f"{PREFIX}{uuid.uuid4().hex[:8]}", actor="bench")
        health_report(system=system, status="unhealthy", actor="bench")
        waiter = make_automation({
            "name": f"{PREFIX}waiter-{uuid.uuid4().hex[:8]}", "triggers": [{"event": "automation.manual"}],
            "actions": [{"wait_until": {"condition": f"health.systems['{system.pk}'].status == 'healthy'"}},
                        {"action": "automation.log", "config": {"message": "healthy"}}]})
        run = run_manual(automation=waiter, actor="bench")
        # Parks it, reading the system's health. run_manual's wake-up may have reached a worker first: then
        # this call finds the run held or parked and does nothing, and the poll waits for the worker.
        run_advance(run_id=run.pk)
        waiting = Run.objects.filter(pk=run.pk, status=RunStatus.WAITING)
        poll(lambda waiting=waiting: waiting.values_list("pk", flat=True).first(),
             timeout=30, what="the waiter to park")
        # The set-up's own changes are routed first: this measures one wake-up, not the backlog before it.
        routing.wait_until_routed(after_id=0, poll_seconds=0.01)
        health_report(system=system, status="healthy", actor="bench")
        committed = time.time()
        finished = poll(lambda run=run: Run.objects.filter(pk=run.pk, status=RunStatus.SUCCEEDED).values_list(
            "finished_at", flat=True).first(), timeout=30, what="a waiting run to be woken and finish")
        out.append(finished.timestamp() - committed)
    return out


def validate_200_steps_ms(repeats: int = 20) -> float:
    from automation.documents.validate import validate_document

    document = {"name": "long", "triggers": [{"event": "incident.created"}], "actions": [
        {"action": "automation.log", "config": {"message": f"step {i}: {{{{ trigger.payload.incident_id }}}}"}}
        for i in range(200)]}
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        assert not validate_document(document).errors
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1)


@contextmanager
def workdir():
    """Where the Celery logs go; kept (and named on stderr) with BENCH_KEEP_LOGS=1."""
    if os.environ.get("BENCH_KEEP_LOGS"):
        path = tempfile.mkdtemp(prefix="checkstack-bench-")
        print(f"-- logs in {path}", file=sys.stderr)
        yield path
    else:
        with tempfile.TemporaryDirectory(prefix="checkstack-bench-") as path:
            yield path


def with_services(tmp: Path, *, beat=False, **env):
    processes = routing.start_services(tmp, beat=beat, **env)
    time.sleep(4)  # start-up
    return processes


def route_leftovers() -> int:
    """Route, and deliver to work_queue subscribers, in this process, the changes an earlier phase's clean-up
    (or an interrupted bench) left pending.

    Otherwise the sweeper-only figure would measure the sweeper draining someone else's backlog.
    """
    from automation.entities.delivery import MAX_DELIVERY_ATTEMPTS, deliver_change, route_change_event
    from automation.models import ChangeEvent, SubscriptionDelivery

    routed = 0
    while True:  # a delivery may write changes of its own
        events = ChangeEvent.objects.filter(routed_at=None).order_by("id").values_list("change_id", flat=True)
        deliveries = SubscriptionDelivery.objects.filter(delivered_at=None, attempts__lt=MAX_DELIVERY_ATTEMPTS) \
            .order_by("id").values_list("id", flat=True)
        if not events.exists() and not deliveries.exists():
            return routed
        for change_id in events:
            route_change_event(str(change_id))
            routed += 1
        for delivery_id in deliveries:
            deliver_change(delivery_id)


def finish(processes):
    """Stop the workers first: deleting automations under running workers would race their run writes.
    The clean-up's own changes are routed and delivered here, while the broker still takes the wake-ups."""
    routing.stop_processes(processes)
    routing.clean()
    route_leftovers()
    routing.stop_redis()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not a measurement")
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    version = routing.setup_django("engine.py", any_database=args.any_database)
    from django.conf import settings

    phase(f"routed {route_leftovers()} change event(s) left unrouted by earlier runs")
    samples = 10 if args.quick else 100
    sizes = {"noop": 200 if args.quick else 2000, "saturation": 20 if args.quick else 300,
             "crowd": 100 if args.quick else 10_000, "sweeper_samples": 3 if args.quick else 20}
    figures = {"postgres_insert_commit_per_s": round(pg_insert_commit_rate(1 if args.quick else 5), 1)}
    with workdir() as tmp:
        processes = with_services(Path(tmp))
        try:
            phase("no-op round trips")
            noop = routing.noop_round_trips(samples)
            figures["noop_round_trip"] = summary(noop)
            figures["noop_tasks_per_s"] = round(noop_throughput(sizes["noop"]), 1)
            phase("commit → routed (fast path)")
            figures["commit_to_routed_fast_path"] = summary(commit_to_routed(samples))
            phase("runs/s at saturation")
            figures["runs_per_s_saturation"] = round(runs_per_second(sizes["saturation"]), 1)
            phase("wake latency")
            figures["wake_latency_10_waiting"] = summary(wake_latency(max(3, samples // 5), 10))
            figures[f"wake_latency_{sizes['crowd']}_waiting"] = summary(wake_latency(max(3, samples // 5),
                                                                                     sizes["crowd"]))
        finally:
            finish(processes)
    with workdir() as tmp:
        # Only the sweeper delivers: no wake-up at commit (this process), beat sweeps every second.
        settings.CHECKSTACK_FAST_PATH = False
        processes = with_services(Path(tmp), beat=True, CHECKSTACK_FAST_PATH="false",
                                  CHECKSTACK_SWEEP_INTERVAL_SECONDS=1, CHECKSTACK_OUTBOX_GRACE_SECONDS=1)
        try:
            phase("commit → routed (sweeper only)")
            figures["commit_to_routed_sweeper_only"] = summary(commit_to_routed(sizes["sweeper_samples"]))
            phase("commit → first action (sweeper only)")
            routing.create_matching_automation()
            figures["commit_to_first_action_sweeper_only"] = summary(
                routing.commit_to_first_action(sizes["sweeper_samples"]))
        finally:
            finish(processes)
            settings.CHECKSTACK_FAST_PATH = True
    figures["validate_200_steps_ms"] = validate_200_steps_ms()
    figures["ratio_runs_vs_noop_throughput"] = round(figures["runs_per_s_saturation"] / figures["noop_tasks_per_s"], 4)
    figures["ratio_routed_vs_noop_p50"] = round(figures["commit_to_routed_fast_path"]["p50_ms"]
                                                / figures["noop_round_trip"]["p50_ms"], 2)
    crowd_key = f"wake_latency_{sizes['crowd']}_waiting"
    figures["ratio_wake_crowded_vs_10_p50"] = round(figures[crowd_key]["p50_ms"]
                                                    / figures["wake_latency_10_waiting"]["p50_ms"], 3)
    for name, value in figures.items():
        print(f"{name:>36}: {value}")
    print(f"target: runs/s at saturation ÷ no-op tasks/s >= 0.2 (now {figures['runs_per_s_saturation']}/s ÷ "
          f"{figures['noop_tasks_per_s']}/s = {figures['ratio_runs_vs_noop_throughput']})")
    print(json.dumps({**figures, "quick": args.quick, "postgres": version}))


if __name__ == "__main__":
    main()
