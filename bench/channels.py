"""Notification channels: change → message at a local receiver, and routing while a receiver hangs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkstack_bench .venv/bin/python bench/channels.py [--samples 40]

Starts the private Redis, beat and two worker pools as docs/deployment.md lays them out: routing (`celery`,
`-c 2`) and deliveries (`checkstack.deliveries`, `-c 4`), each also on the broadcast queue. Each sample is one health
change (`health.changed`) of a fresh system, committed by this process; the channels are Slack-format
channels posting to an HTTP server in this process, which records when each message arrives.

Figures:
- change → message, 1 channel wanting the change: commit to arrival (p50, p99);
- change → message, 100 channels wanting it: commit to each message's arrival (p50, p99 over all of them)
  and to the last of the 100 (p50, p99); target p99 <= 2 s;
- routing's commit → routed p50 with one more channel whose receiver hangs (it never answers: each attempt is
  cut by the 5 s deadline, then retried) against none hanging; the hanging channel is enabled and disabled
  every 5 samples, so both series share the machine's moments; the ratio must stay <= 1.1.
The last output line is one JSON object.
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from routing import (  # noqa: E402
    BROKER,
    noop_round_trips,
    pct,
    setup_django,
    start_redis,
    stop_services,
    wait_until_routed,
)

PREFIX = "bench-channels-"
TARGET_P99_S = 2.0
TARGET_RATIO = 1.1
WORKER_ENV = {"CHECKSTACK_WEBHOOK_ALLOWLIST": "127.0.0.1", "CHECKSTACK_CHANNEL_TIMEOUT_SECONDS": "5",
              "CHECKSTACK_SWEEP_INTERVAL_SECONDS": "1"}


class Inbox:
    """A local chat service: records the arrival time of each message by (path, first line); `hang` never answers."""

    def __init__(self, *, hang: bool = False):
        # title → {path: first arrival}: the bench polls by title every 10 ms, in O(1).
        self.arrivals: dict[str, dict[str, float]] = {}
        self.lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.time()
                if hang:
                    time.sleep(3600)  # the sender's deadline cuts the connection first
                    return
                title = json.loads(body)["text"].splitlines()[0]
                with inbox.lock:
                    inbox.arrivals.setdefault(title, {}).setdefault(self.path, arrived)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 512  # a real service's backlog: 5 (the default) would make senders retry SYNs

            def handle_error(self, request, client_address):
                pass  # a sender that hung up (the deadline): nothing to report

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def arrived(self, title: str) -> list[float]:
        with self.lock:
            return list(self.arrivals.get(title, {}).values())


def start_pools(tmp: Path) -> list:
    """Redis, beat, a routing pool and a delivery pool (the deployment docs' layout); the processes."""
    start_redis(tmp)
    env = {**os.environ, "CELERY_BROKER_URL": BROKER, "CHECKSTACK_FAST_PATH": "true", "PYTHONUNBUFFERED": "1",
           **WORKER_ENV}
    celery = str(Path(sys.executable).with_name("celery"))
    worker = [celery, "-A", "checkstack", "worker", "-l", "WARNING", "--without-mingle", "--without-gossip",
              "-I", "bench.noop_tasks"]
    commands = [[*worker, "-Q", "celery,checkstack.broadcast", "-c", "2", "-n", "routing@%h"],
                [*worker, "-Q", "checkstack.deliveries,checkstack.broadcast", "-c", "4", "-n", "deliveries@%h"],
                [celery, "-A", "checkstack", "beat", "-l", "WARNING", "-s", str(tmp / "beat-schedule")]]
    processes = []
    for index, command in enumerate(commands):
        log = open(tmp / f"celery-{index}.log", "wb")
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    return processes


def cleanup():
    from automation.models import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery, Transition
    from catalog.models import System
    from catalog.services import system_delete
    from notifications.channels.models import Channel

    Channel.objects.filter(name__startswith=PREFIX).delete()
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


def add_channels(first: int, count: int, url: str) -> None:
    from notifications.channels.services import channel_create

    for i in range(first, first + count):
        channel_create(name=f"{PREFIX}{i:03d}", kind="slack", config={"url": f"{url}/c/{i}"},
                       events=["health.changed"], actor="bench")


def sample(system, inbox: Inbox, expected: int, timeout: float = 60) -> tuple[list[float], float]:
    """Commit one health change; (each message's commit → arrival, commit → routed)."""
    from django.db import transaction

    from automation.models import ChangeEvent
    from catalog.services import health_report
    from notifications.channels.models import ChannelDelivery

    with transaction.atomic():
        health_report(system=system, status="degraded", actor="bench")
    committed = time.time()
    title = f"{system.name} is degraded"
    deadline = time.monotonic() + timeout
    while len(inbox.arrived(title)) < expected:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(inbox.arrived(title))} of {expected} messages in {timeout} s: see the worker log")
        time.sleep(0.01)
    event = ChangeEvent.objects.filter(kind="health", entity_id=str(system.pk)).latest("id")
    planned = ChannelDelivery.objects.filter(change_id=event.change_id).values_list("created_at", flat=True)
    STAGES["planned"].append(min(planned).timestamp() - committed)
    return [at - committed for at in inbox.arrived(title)], event.routed_at.timestamp() - committed


# Commit → the deliveries' rows written (planning done), for the last series: where the time goes.
STAGES = {"planned": []}


def series(systems, inbox: Inbox, expected: int) -> tuple[list[list[float]], list[float]]:
    messages, routed = [], []
    STAGES["planned"].clear()
    for system in systems:
        latencies, to_routed = sample(system, inbox, expected)
        messages.append(latencies)
        routed.append(to_routed)
        time.sleep(0.05)
    return messages, routed


def ms(values) -> dict:
    return {"p50_ms": round(statistics.median(values) * 1000, 1), "p99_ms": round(pct(values, 99) * 1000, 1)}


def measure(args, tmp: Path) -> dict:
    from catalog.services import system_create
    from notifications.channels.models import Channel

    inbox, hanging = Inbox(), Inbox(hang=True)
    processes = start_pools(tmp)
    try:
        noop_round_trips(1)
        systems = [system_create(name=f"{PREFIX}{i:04d}", actor="bench") for i in range(args.samples * 4)]
        wait_until_routed(after_id=0)
        batches = [systems[i * args.samples:(i + 1) * args.samples] for i in range(4)]

        add_channels(0, 1, inbox.url)
        one, _ = series(batches[0], inbox, 1)
        planned_one = list(STAGES["planned"])
        add_channels(1, args.channels - 1, inbox.url)
        many, _ = series(batches[1], inbox, args.channels)
        planned_many = list(STAGES["planned"])

        Channel.objects.filter(name__startswith=PREFIX).exclude(name=f"{PREFIX}000").delete()
        from notifications.channels.services import channel_create

        hanger = channel_create(name=f"{PREFIX}hanging", kind="slack", config={"url": f"{hanging.url}/hang"},
                                events=["health.changed"], actor="bench").channel
        routed_none, routed_hanging = [], []
        for block in range(0, len(batches[2] + batches[3]), 5):
            hang = (block // 5) % 2 == 1
            Channel.objects.filter(pk=hanger.pk).update(enabled=hang)  # not reactive state: a plain update
            _, routed = series((batches[2] + batches[3])[block:block + 5], inbox, 1)
            (routed_hanging if hang else routed_none).extend(routed)
    finally:
        stop_services(processes)
    every = [value for latencies in many for value in latencies]
    baseline = routed_none
    return {
        "samples": args.samples, "channels": args.channels,
        "change_to_message_1_channel": ms([latencies[0] for latencies in one]),
        f"change_to_message_{args.channels}_channels": ms(every),
        f"change_to_last_of_{args.channels}": ms([max(latencies) for latencies in many]),
        "commit_to_planned_1_channel": ms(planned_one),
        f"commit_to_planned_{args.channels}_channels": ms(planned_many),
        "commit_to_routed_none_hanging": ms(baseline),
        "commit_to_routed_one_hanging": ms(routed_hanging),
        "ratio_routed_hanging_vs_none_p50": round(statistics.median(routed_hanging) / statistics.median(baseline), 3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40, help="health changes per case")
    parser.add_argument("--channels", type=int, default=100, help="channels wanting each change in the crowded case")
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()
    version = setup_django("channels.py", any_database=args.any_database)
    cleanup()
    with tempfile.TemporaryDirectory(prefix="bench-channels-") as tmp:
        try:
            r = measure(args, Path(tmp))
        finally:
            cleanup()
    n = args.channels
    print(f"change → message, 1 channel: p50 {r['change_to_message_1_channel']['p50_ms']} ms, "
          f"p99 {r['change_to_message_1_channel']['p99_ms']} ms")
    print(f"change → message, {n} channels: each p50 {r[f'change_to_message_{n}_channels']['p50_ms']} ms, "
          f"p99 {r[f'change_to_message_{n}_channels']['p99_ms']} ms; the last of {n} p50 "
          f"{r[f'change_to_last_of_{n}']['p50_ms']} ms, p99 {r[f'change_to_last_of_{n}']['p99_ms']} ms "
          f"(target p99 <= {TARGET_P99_S} s)")
    print(f"commit → routed p50: {r['commit_to_routed_none_hanging']['p50_ms']} ms with no receiver hanging, "
          f"{r['commit_to_routed_one_hanging']['p50_ms']} ms with one hanging: ratio "
          f"{r['ratio_routed_hanging_vs_none_p50']} (target <= {TARGET_RATIO})")
    print(json.dumps({**r, "target_p99_s": TARGET_P99_S, "target_ratio": TARGET_RATIO, "postgres": version}))


if __name__ == "__main__":
    main()
