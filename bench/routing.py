"""Commit → first action started with 1 and more enabled automations (`--levels`, default 1 and 1,000; one
matches, the rest listen to another event), against a Celery no-op round trip measured in the same run (same
worker, same broker).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/routing.py

Starts a private redis-server (port 6394) and one Celery worker on the named PostgreSQL database; the fast
path delivers (no beat). The last output line is one JSON object.
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

REDIS_PORT = 6394
BROKER = f"redis://127.0.0.1:{REDIS_PORT}/0"
PREFIX = "bench-routing-"


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def start_services(tmp: Path, *, beat: bool = False, **env_extra):
    """A private redis-server, one worker (-c 2) and, if asked, beat; returns the Celery processes."""
    subprocess.run(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--daemonize", "yes", "--logfile", str(tmp / "redis.log")], check=True)
    env = {**os.environ, "CELERY_BROKER_URL": BROKER, "CHECKSTACK_FAST_PATH": "true", "PYTHONUNBUFFERED": "1",
           **{k: str(v) for k, v in env_extra.items()}}
    celery = str(Path(sys.executable).with_name("celery"))
    commands = [[celery, "-A", "checkstack", "worker", "-c", "2", "-l", "WARNING", "--without-mingle",
                 "--without-gossip", "-I", "bench.noop_tasks", "-n", "bench@%h"]]
    if beat:
        commands.append([celery, "-A", "checkstack", "beat", "-l", "WARNING", "-s", str(tmp / "beat-schedule")])
    processes = []
    for index, command in enumerate(commands):
        log = open(tmp / f"celery-{index}.log", "wb")
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


def create_matching_automation():
    """The one automation the measured change starts (a one-step run: automation.log)."""
    from automation.documents.validate import validate_document
    from automation.services.automations import automation_create

    automation_create(document=validate_document({
        "name": f"{PREFIX}matching", "mode": "parallel", "max_runs": 1000,
        "triggers": [{"event": "healthcheck.system_degraded"}],
        "actions": [{"action": "automation.log", "config": {"message": "degraded"}}]}).document, actor="bench")


def create_automations(count: int, *, start: int = 0):
    """`count` more enabled automations listening to another event (unrelated to the measured one)."""
    from automation.documents.validate import validate_document
    from automation.services.automations import automation_create

    for i in range(start, start + count):
        document = validate_document({"name": f"{PREFIX}unrelated-{i}", "triggers": [{"event": "incident.created"}],
                                      "actions": [{"action": "automation.log", "config": {"message": "x"}}]}).document
        automation_create(document=document, actor="bench")


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


def summary(values):
    return {"p50_ms": round(statistics.median(values) * 1000, 2), "p99_ms": round(pct(values, 99) * 1000, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--levels", default="1,1000",
                        help="enabled automations in all (one matches, the others listen elsewhere)")
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("bench/routing.py needs an explicit DATABASE_URL naming a disposable PostgreSQL database")
    os.environ.update(DJANGO_SETTINGS_MODULE="checkstack.settings", CELERY_BROKER_URL=BROKER, DEBUG="false",
                      CHECKSTACK_FAST_PATH="true")
    os.environ.setdefault("SECRET_KEY", "checkstack-bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
    import tempfile

    import django

    django.setup()
    version = check_database(args.any_database)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    clean()
    with tempfile.TemporaryDirectory() as tmp:
        processes = start_services(Path(tmp))
        try:
            time.sleep(4)  # worker start-up
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
        finally:
            clean()  # while the broker is still up: the deletions publish their own wake-ups
            stop_services(processes)
    alone, crowded = series[levels[0]], series[levels[-1]]
    figures = {"noop_round_trip": summary(noop),
               **{f"commit_to_first_action_{level}": summary(values) for level, values in series.items()}}
    figures["stages_p50_ms_crowded"] = {name: round(statistics.median(v) * 1000, 2) for name, v in STAGES.items()}
    figures["ratio_crowded_vs_alone_p50"] = round(statistics.median(crowded) / statistics.median(alone), 3)
    figures["ratio_first_action_vs_noop_p50"] = round(statistics.median(alone) / statistics.median(noop), 3)
    for name, value in figures.items():
        print(f"{name:>40}: {value}")
    print("targets: crowded/alone p50 <= 1.2; first action/no-op p50 <= 5")
    print(json.dumps({**figures, "samples": args.samples, "postgres": version}))


if __name__ == "__main__":
    main()
