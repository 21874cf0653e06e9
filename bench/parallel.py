"""A `parallel` of two branches against one branch alone, end to end on a real worker (-c 2).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/parallel.py [--quick]

Each branch calls a local receiver that takes 2 s to answer (automation.webhook). The figure is a run's
end-to-end time, from its creation to its end (both stamped by the database): a run of a `parallel` of two
such branches, and a run of that one step alone. Branches that run at the same time on the worker's two
slots make the ratio close to 1 (target ≤ 1.2); branches walked one after the other would make it 2.
The last output line is one JSON object.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import routing  # noqa: E402 - the private broker, worker start-up and clean-up
from mutations import check_database  # noqa: E402

PREFIX = routing.PREFIX  # cleaned up with the routing bench's automations
if os.environ.get("BENCH_REDIS_PORT"):  # another private broker (a bench of another checkout runs on the default)
    routing.REDIS_PORT = int(os.environ["BENCH_REDIS_PORT"])
    routing.BROKER = f"redis://127.0.0.1:{routing.REDIS_PORT}/0"
ANSWER_SECONDS = 2


def make_automation(name: str, actions: list):
    from automation.documents.validate import validate_document
    from automation.services.automations import automation_create

    result = validate_document({"name": f"{PREFIX}{name}", "mode": "parallel", "max_runs": 1000,
                                "triggers": [{"event": "automation.manual"}], "actions": actions})
    assert result.errors == [], result.errors
    return automation_create(document=result.document, actor="bench", run_as=routing.bench_user())


def end_to_end(automation, samples: int) -> list[float]:
    """Seconds from each run's creation to its end, one run at a time."""
    from automation.models import Run, RunStatus
    from automation.services.runs import run_manual

    seconds = []
    for _ in range(samples):
        run = run_manual(automation=automation, actor="bench")
        deadline = time.monotonic() + 60
        while not Run.objects.filter(pk=run.pk, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"run {run.pk} did not end within 60 s: see the worker log")
            time.sleep(0.05)
        run.refresh_from_db()
        if run.status != RunStatus.SUCCEEDED:
            raise SystemExit(f"run {run.pk} failed: {run.error}")
        seconds.append((run.finished_at - run.created_at).total_seconds())
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples: a smoke run")
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("bench/parallel.py needs an explicit DATABASE_URL naming a disposable PostgreSQL database")
    os.environ.update(DJANGO_SETTINGS_MODULE="checkstack.settings", CELERY_BROKER_URL=routing.BROKER,
                      DEBUG="false", CHECKSTACK_FAST_PATH="true", CHECKSTACK_WEBHOOK_ALLOWLIST="127.0.0.1")
    os.environ.setdefault("SECRET_KEY", "checkstack-bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
    import django

    django.setup()
    from django.core.management import call_command

    from testing.http_receiver import Receiver

    version = check_database(args.any_database)
    call_command("migrate", verbosity=0)
    routing.clean()
    samples = 2 if args.quick else 8
    with (tempfile.TemporaryDirectory(prefix="checkstack-bench-") as tmp,
          Receiver(delay_each=ANSWER_SECONDS) as receiver):
        hook = {"action": "automation.webhook", "config": {"url": receiver.url, "timeout_seconds": 20}}
        processes = routing.start_services(Path(tmp), CHECKSTACK_WEBHOOK_ALLOWLIST="127.0.0.1")
        time.sleep(4)  # start-up
        try:
            alone = make_automation("one-branch-alone", [hook])
            forked = make_automation("parallel-of-two", [{"parallel": [hook, hook]}])
            end_to_end(alone, 1)  # warm-up: the worker's first run imports and connects
            one = end_to_end(alone, samples)
            two = end_to_end(forked, samples)
        finally:
            routing.stop_processes(processes)
            routing.clean()
            routing.stop_redis()
    figures = {
        "postgres": version, "samples": samples, "receiver_answer_s": ANSWER_SECONDS,
        "one_branch_alone_p50_s": round(statistics.median(one), 3),
        "parallel_of_two_p50_s": round(statistics.median(two), 3),
        "parallel_of_two_max_s": round(max(two), 3),
    }
    figures["ratio_parallel_vs_alone_p50"] = round(
        figures["parallel_of_two_p50_s"] / figures["one_branch_alone_p50_s"], 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
