"""Routing cost as the number of automations grows, in two cases.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/routing.py

The worker case: commit → first action started with 1 and more enabled automations (`--levels`, default 1 and
1,000; one matches, the rest listen to another event), against a Celery no-op round trip measured in the same
run (same worker, same broker). Starts a private redis-server (port 6394, BENCH_REDIS_PORT overrides) and one
Celery worker on the named PostgreSQL database; the fast path delivers (no beat).

The fleet case (`--fleet-levels`, default 1, 1,000 and 10,000): an operator installs one automation per system,
all on `healthcheck.system_health_changed`, each with `filter: trigger.payload.system_id == '<its system>'` and
one no-op step (automation.log); health changes of one system, so exactly one automation matches whatever N.
Measured in this process, with no worker (nothing routes behind the clock): `health_report` in its own
transaction, then `route_change_event` of that change inside `runs_woken_here()` as the worker's task calls it;
p50/p99 of report + route, and the Run rows (and their bytes, `pg_column_size`) written per change beside the
runs started. The run it started is walked afterwards, off the clock.
Levels share one event, so they cannot all listen at once: as many systems and automations as the largest
level are created once and the level is the number enabled (the first N; system 0's is always among them).
Beside them, automation save time with the fleet installed (the first and last creations, edits at full size)
and the peak RSS. Levels are interleaved in blocks of `--fleet-block` changes in mirrored rounds
(1, 1000, 10000, 10000, 1000, 1, ...) until each has
`--fleet-changes` (default 200): a drift of the machine's load falls on every level alike, and half of the
switches toggle nothing. A switch enables or disables the automations between the two levels through
`automation_set_enabled` (the service, so the index rows follow as they would for an operator), routes the
toggles' own changes, then makes two unmeasured changes (caches of the toggled rows). Targets: p50 at the
largest level ÷ p50 at 1 <= 1.3; Run rows per change = runs started (1) at every level.

`--cases worker,fleet` picks the cases. The last output line is one JSON object.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutations import check_database  # noqa: E402 - the shared refusal rules

# BENCH_REDIS_PORT: several checkouts benchmarking on one machine each take their own private Redis.
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6394"))
BROKER = f"redis://127.0.0.1:{REDIS_PORT}/0"
PREFIX = "bench-routing-"


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def start_services(tmp: Path, *, beat: bool = False, workers: int = 1, concurrency: int = 2, **env_extra):
    """A private redis-server, `workers` worker processes (-c `concurrency`) and, if asked, beat; returns the
    Celery processes."""
    start_redis(tmp)
    return start_celery(tmp, beat=beat, workers=workers, concurrency=concurrency, **env_extra)


def start_redis(tmp: Path) -> None:
    subprocess.run(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--daemonize", "yes", "--logfile", str(tmp / "redis.log")], check=True)


def start_celery(tmp: Path, *, beat: bool = False, workers: int = 1, concurrency: int = 2, **env_extra):
    """`workers` worker processes on the private broker (-c `concurrency`) and, if asked, beat."""
    env = {**os.environ, "CELERY_BROKER_URL": BROKER, "CHECKSTACK_FAST_PATH": "true", "PYTHONUNBUFFERED": "1",
           **{k: str(v) for k, v in env_extra.items()}}
    celery = str(Path(sys.executable).with_name("celery"))
    commands = [[celery, "-A", "checkstack", "worker", "-c", str(concurrency), "-l", "WARNING", "--without-mingle",
                 "--without-gossip", "-I", "bench.noop_tasks", "-n", f"bench{index}@%h"] for index in range(workers)]
    if beat:
        commands.append([celery, "-A", "checkstack", "beat", "-l", "WARNING", "-s", str(tmp / "beat-schedule")])
    processes = []
    for command in commands:
        log = open(tmp / f"celery-{uuid.uuid4().hex[:6]}.log", "wb")
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    return processes


def stop_processes(processes):
    import signal

    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout=20)


def stop_redis():
    subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"], capture_output=True)


def stop_services(processes):
    stop_processes(processes)
    stop_redis()


def noop_round_trips(n: int) -> list[float]:
    import redis

    from checkstack.celery import app

    client = redis.Redis.from_url(BROKER)
    out = []
    for _ in range(n):
        key = f"bench:noop:{uuid.uuid4().hex}"
        sent = time.time()
        app.send_task("bench.noop", args=[key])
        _, stamp = client.blpop([key], timeout=30)
        out.append(float(stamp) - sent)
    return out


def commit_to_first_action(n: int) -> list[float]:
    """Latency of one change on an idle worker, as the no-op round trip is measured on an idle worker.

    The systems are created up front and each sample waits for the previous run to end, so no sample
    queues behind another change's routing or deliveries (that is throughput, bench/engine.py's figure).
    """
    from django.db import transaction

    from automation.models import ChangeEvent, Run, RunStep
    from catalog.services import health_report, system_create

    for series in STAGES.values():
        series.clear()
    marker = ChangeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    systems = [system_create(name=f"{PREFIX}{uuid.uuid4().hex[:8]}", actor="bench") for _ in range(n)]
    wait_until_routed(after_id=marker)
    time.sleep(1)  # their work-queue deliveries too
    out = []
    for system in systems:
        with transaction.atomic():
            health_report(system=system, status="degraded", actor="bench")
        committed = time.time()
        deadline = time.monotonic() + 30
        step = None
        while step is None and time.monotonic() < deadline:
            step = RunStep.objects.filter(run__context_key=str(system.pk)).values_list("started_at", "run_id").first()
            if step is None:
                time.sleep(0.02)  # started_at is the worker's clock: polling slower costs no precision, only CPU
        if step is None:
            raise SystemExit("no run started within 30 s: is the worker up? see the worker log")
        started_at, run_id = step
        out.append(started_at.timestamp() - committed)
        event = ChangeEvent.objects.filter(kind="health", entity_id=str(system.pk)).latest("id")
        while Run.objects.filter(pk=run_id, finished_at=None).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        run = Run.objects.values("created_at", "started_at").get(pk=run_id)
        STAGES["routed"].append(event.routed_at.timestamp() - committed)
        STAGES["run_created"].append(run["created_at"].timestamp() - committed)
        STAGES["run_claimed"].append(run["started_at"].timestamp() - committed)
    return out


# Where commit → first action goes, for the last measured series (seconds after commit).
STAGES = {"routed": [], "run_created": [], "run_claimed": []}


def bench_user():
    """The superuser every bench automation acts as: an automation without `run_as` never runs."""
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(username="checkstack-bench",
                                                           defaults={"is_superuser": True, "is_staff": True})
    return user


def create_matching_automation():
    """The one automation the measured change starts (a one-step run: automation.log)."""
    from automation.documents.validate import validate_document
    from automation.services.automations import automation_create

    automation_create(document=validate_document({
        "name": f"{PREFIX}matching", "mode": "parallel", "max_runs": 1000,
        "triggers": [{"event": "healthcheck.system_degraded"}],
        "actions": [{"action": "automation.log", "config": {"message": "degraded"}}]}).document, actor="bench",
        run_as=bench_user())


def create_automations(count: int, *, start: int = 0):
    """`count` more enabled automations listening to another event (unrelated to the measured one)."""
    from automation.documents.validate import validate_document
    from automation.services.automations import automation_create

    for i in range(start, start + count):
        document = validate_document({"name": f"{PREFIX}unrelated-{i}", "triggers": [{"event": "incident.created"}],
                                      "actions": [{"action": "automation.log", "config": {"message": "x"}}]}).document
        automation_create(document=document, actor="bench", run_as=bench_user())


def wait_until_routed(*, after_id: int, timeout: float = 120, poll_seconds: float = 0.2):
    from automation.models import ChangeEvent

    deadline = time.monotonic() + timeout
    while ChangeEvent.objects.filter(id__gt=after_id, routed_at=None).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"change events still unrouted after {timeout} s: see the worker log")
        time.sleep(poll_seconds)


def clean():
    from automation.models import Automation
    from catalog.models import System
    from catalog.services import system_delete

    for automation in Automation.objects.filter(name__startswith=PREFIX):
        automation.delete()
    for system in System.objects.filter(name__startswith=PREFIX):
        system_delete(system=system, actor="bench")


# --- The fleet case: one template installed per system, all on the same event (in-process) ---------------

def route_in_process() -> None:
    """Route whatever is unrouted (set-up and toggles are changes too), in this process, outside the clock."""
    from automation.engine.runs.wakeups import runs_woken_here
    from automation.entities.delivery import deliver_change, route_change_event
    from automation.models import ChangeEvent, SubscriptionDelivery

    with runs_woken_here():  # runs they start (none here) stay pending, as nothing publishes
        for change_id in ChangeEvent.objects.filter(routed_at=None).order_by("id").values_list("change_id", flat=True):
            route_change_event(str(change_id))
        for delivery_id in SubscriptionDelivery.objects.filter(delivered_at=None).values_list("id", flat=True):
            deliver_change(delivery_id)


def summary(values):
    return {"p50_ms": round(statistics.median(values) * 1000, 2), "p99_ms": round(pct(values, 99) * 1000, 2)}


def worker_case(args) -> dict:
    """Commit → first action through the worker, with the other automations on another event."""
    noop = noop_round_trips(args.samples)
    create_matching_automation()
    levels = sorted(int(n) for n in args.levels.split(","))
    series, existing = {}, 1
    for level in levels:
        from automation.models import ChangeEvent

        marker = ChangeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        create_automations(level - existing, start=existing)
        existing = level
        wait_until_routed(after_id=marker)  # their creations are changes too: measure after they drained
        series[level] = commit_to_first_action(args.samples)
    alone, crowded = series[levels[0]], series[levels[-1]]
    figures = {"noop_round_trip": summary(noop),
               **{f"commit_to_first_action_{level}": summary(values) for level, values in series.items()}}
    figures["stages_p50_ms_crowded"] = {name: round(statistics.median(v) * 1000, 2) for name, v in STAGES.items()}
    figures["ratio_crowded_vs_alone_p50"] = round(statistics.median(crowded) / statistics.median(alone), 3)
    figures["ratio_first_action_vs_noop_p50"] = round(statistics.median(alone) / statistics.median(noop), 3)
    return figures


def setup_django(script: str, *, any_database: bool) -> str:
    """Django on the bench's database with the private broker and the fast path on; migrate it, remove the
    bench's leftovers; return the PostgreSQL version. Exits unless DATABASE_URL names a disposable database."""
    if not os.environ.get("DATABASE_URL"):
        sys.exit(f"bench/{script} needs an explicit DATABASE_URL naming a disposable PostgreSQL database")
    os.environ.update(DJANGO_SETTINGS_MODULE="checkstack.settings", CELERY_BROKER_URL=BROKER, DEBUG="false",
                      CHECKSTACK_FAST_PATH="true")
    os.environ.setdefault("SECRET_KEY", "checkstack-bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
    import django

    django.setup()
    version = check_database(any_database)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    clean()
    return version


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--levels", default="1,1000",
                        help="enabled automations in all (one matches, the others listen elsewhere)")
    parser.add_argument("--fleet-levels", default="1,1000,10000",
                        help="the fleet case: automations on the same event, each filtering on its own system")
    parser.add_argument("--fleet-changes", type=int, default=200, help="measured health changes per fleet level")
    parser.add_argument("--fleet-block", type=int, default=50, help="changes per level before switching level")
    parser.add_argument("--cases", default="worker,fleet", help="which cases to run: worker, fleet or both")
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    version = setup_django("routing.py", any_database=args.any_database)
    import tempfile

    from django.conf import settings

    cases, figures = args.cases.split(","), {}
    with tempfile.TemporaryDirectory() as tmp:
        processes = start_services(Path(tmp), workers=1 if "worker" in cases else 0)
        try:
            if "worker" in cases:
                time.sleep(4)  # worker start-up
                figures.update(worker_case(args))
        finally:
            clean()  # while the broker is still up: the deletions publish their own wake-ups
            stop_processes(processes)
        try:
            if "fleet" in cases:
                # In this process, no worker: nothing routes behind the clock's back. Redis stays up only to take
                # the wake-ups routing publishes after commit (deliveries); nobody consumes them.
                settings.CHECKSTACK_FAST_PATH = False
                levels = sorted(int(n) for n in args.fleet_levels.split(","))
                import fleet  # the fleet case, in its own module

                figures["fleet"] = fleet.fleet_case(levels, changes=args.fleet_changes, block=args.fleet_block)
        finally:
            try:
                clean()
                route_in_process()
            finally:
                stop_redis()
    for name, value in figures.items():
        print(f"{name:>40}: {value}")
    print("targets: crowded/alone p50 <= 1.2; first action/no-op p50 <= 5; fleet p50 at the largest level / at 1 "
          "<= 1.3, run rows per change = runs started (1)")
    print(json.dumps({**figures, "samples": args.samples, "postgres": version}))


if __name__ == "__main__":
    main()
