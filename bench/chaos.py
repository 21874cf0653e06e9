"""Chaos soak (SPEC §7, guarantee 10): clients write while processes are killed and the broker and database restart.

    .venv/bin/python bench/chaos.py [--seconds 60] [--full] [--redis-port 6412]

Starts its own PostgreSQL cluster (a temporary folder, a free port) and Redis (`--redis-port`, default
BENCH_REDIS_PORT or 6412), the local receivers (HTTP for webhooks and channels, SMTP for emails), and the
Procfile's web, worker and beat under dev.py's supervisor. Clients write health, incidents and maintenance
through the API at `--rate` writes/s; every `--kill-every` seconds (± half) a random web, worker or beat is
killed with `kill -9` (its process group) and restarted by the supervisor; Redis is restarted (queued messages
lost) at a third of the soak and PostgreSQL with `-m immediate` at two thirds. Then the soak waits for the
system to settle and checks guarantee 10 from the database, the receivers' logs and the acknowledgements.
`--full` runs 600 s. The last output line is one JSON object; the exit code is 1 when anything was lost or
duplicated beyond what idempotency keys absorb, or a fault did not happen.
"""

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import time
import urllib.error
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chaos_clients import Clients, Controller, api
from chaos_stack import (
    MailReceiver,
    PrivatePostgres,
    PrivateRedis,
    Supervisor,
    free_port,
    temporary_root,
    wait_for,
)

from testing.http_receiver import Receiver

SECRET_KEY = "checkstack-chaos-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
SYSTEMS = 6


def log(message: str):
    print(f"{time.strftime('%H:%M:%S')} chaos | {message}", flush=True)


def process_env(postgres, redis, mail, *, port: int) -> dict:
    """The Procfile processes' environment: the private services, loopback allowed, sweeps fast and leases short."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env['PATH']}", PORT=str(port), SECRET_KEY=SECRET_KEY, DEBUG="false",
        DATABASE_URL=postgres.url, CELERY_BROKER_URL=redis.url, PYTHONUNBUFFERED="1",
        CHECKSTACK_PUBLIC_URL=f"http://127.0.0.1:{port}", CHECKSTACK_VAR_DIR=str(postgres.dir.parent / "var"),
        CHECKSTACK_WEBHOOK_ALLOWLIST="127.0.0.1", EMAIL_URL=f"smtp://127.0.0.1:{mail.port}", EMAIL_TIMEOUT="10",
        WEB_CONCURRENCY="2", GUNICORN_THREADS="4",
        # What a killed worker held comes back within seconds, not minutes (the defaults suit production).
        CHECKSTACK_SWEEP_INTERVAL_SECONDS="1", CHECKSTACK_OUTBOX_GRACE_SECONDS="2",
        CHECKSTACK_RUN_LEASE_SECONDS="5", CHECKSTACK_CHANNEL_SENDING_TIMEOUT_SECONDS="10",
        CHECKSTACK_NOTIFICATION_SENDING_TIMEOUT_SECONDS="10", CHECKSTACK_CHANNEL_RETRY_BASE_SECONDS="1",
        CHECKSTACK_CHANNEL_RETRY_MAX_SECONDS="5", CHECKSTACK_CHANNEL_TIMEOUT_SECONDS="5",
    )
    return env


def setup_django(postgres) -> str:
    """Django in this process on the private cluster: migrate, and an API token of a superuser."""
    os.environ.update(DJANGO_SETTINGS_MODULE="checkstack.settings", DATABASE_URL=postgres.url, SECRET_KEY=SECRET_KEY,
                      DEBUG="false", CHECKSTACK_VAR_DIR=str(postgres.dir.parent / "var"))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("migrate", verbosity=0)
    user = User.objects.create_superuser("chaos", "chaos@example.com", uuid.uuid4().hex)
    return Token.objects.create(user=user).key


def create_world(url: str, token: str, hook_base: str) -> list[str]:
    """Systems, three automations with external side effects, two webhook channels and a confirmed subscriber."""
    def request(*args):
        try:
            return api(*args)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"set-up request {args[2:4]} refused: {exc.code} {exc.read()[:2000]!r}") from None

    systems = [request(url, token, "POST", "systems/", {"name": f"chaos-{i}"})["id"] for i in range(SYSTEMS)]
    request(url, token, "POST", "channels/", {
        "name": "chaos-changes", "kind": "webhook", "config": {"url": f"{hook_base}/channel"},
        "events": ["incident.created", "incident.updated", "incident.resolved", "maintenance.scheduled",
                   "maintenance.completed", "health.changed"]})
    request(url, token, "POST", "channels/", {"name": "chaos-automation", "kind": "webhook",
                                          "config": {"url": f"{hook_base}/notify"}, "events": []})
    request(url, token, "POST", "subscribers/", {"email": "subscriber@example.com", "system_ids": systems,
                                             "confirmed": True})
    parallel = {"mode": "parallel", "max_runs": 1000}
    for name, event, action in [
        ("chaos-webhook", "healthcheck.system_health_changed",
         {"action": "automation.webhook", "config": {"url": f"{hook_base}/action",
                                                     "body": {"system": "{{ trigger.payload.system_id }}"}}}),
        ("chaos-email", "incident.created",
         {"action": "automation.email", "config": {"to": ["oncall@example.com"],
                                                   "subject": "incident {{ trigger.payload.incident_id }}"}}),
        ("chaos-notify", "maintenance.created",
         {"action": "notify.send", "config": {"channel": "chaos-automation", "title": "maintenance planned"}}),
    ]:
        request(url, token, "POST", "automations/", {"name": name, **parallel, "triggers": [{"event": event}],
                                                 "actions": [action]})
    return systems


def settle(timeout: float) -> dict:
    """Wait until nothing is owed any more (or `timeout`); return what is still owed."""
    from chaos_audit import quiet
    from django.db import connection

    deadline, owed, shown = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        try:
            owed = quiet()
        except Exception as exc:  # noqa: BLE001 - the restarted cluster dropped this connection: reconnect
            log(f"settle: {exc.__class__.__name__}; reconnecting")
            connection.close()
            time.sleep(1)
            continue
        if not any(owed.values()):
            return owed
        if time.monotonic() >= shown + 10:
            shown = time.monotonic()
            log(f"settling: still owed {owed}")
        time.sleep(1)
    return owed


def audit(clients, receiver, mail) -> dict:
    import chaos_audit

    requests = [(r["path"], {k.lower(): v for k, v in r["headers"].items()}) for r in receiver.requests]
    by_path = {path: [h.get("idempotency-key") or h.get("webhook-id") for p, h in requests if p == path]
               for path in ("/action", "/notify", "/channel")}
    return {
        "writes": chaos_audit.acknowledged_writes(clients.acks),
        "routing": chaos_audit.routing(),
        "runs": chaos_audit.runs_per_firing(["chaos-webhook", "chaos-email", "chaos-notify"]),
        "side_effects": chaos_audit.automation_side_effects(by_path["/action"], mail.message_ids(),
                                                            [h.get("webhook-id") for p, h in requests
                                                             if p == "/notify"]),
        "channel": chaos_audit.channel_messages("chaos-changes", [h.get("webhook-id") for p, h in requests
                                                                  if p == "/channel"]),
        "subscriber_emails": chaos_audit.subscriber_emails(mail.message_ids()),
    }


def totals(found: dict) -> tuple[int, int]:
    """Lost and duplicated over every check (side effects counted per check and kind)."""
    parts = [found["writes"], found["routing"], found["runs"], found["channel"], found["subscriber_emails"],
             *found["side_effects"].values()]
    return sum(p["lost"] for p in parts), sum(p["duplicated"] for p in parts)


def soak(args, root: Path) -> dict:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    postgres, redis = PrivatePostgres(root, free_port()), PrivateRedis(root, args.redis_port)
    supervisor = None
    try:
        with Receiver() as receiver, MailReceiver() as mail:
            postgres.start()
            redis.start()
            token = setup_django(postgres)
            port = free_port()
            supervisor = Supervisor(root, process_env(postgres, redis, mail, port=port), restart_delay=1)
            supervisor.start()
            wait_for(lambda: "ready." in supervisor.log(), timeout=120, what="the worker")
            wait_for(lambda: _answers(supervisor.url, token), timeout=120, what="gunicorn")
            systems = create_world(supervisor.url, token, receiver.url.rsplit("/", 1)[0])
            log(f"soak: {args.seconds:.0f} s at {args.rate} writes/s, a kill every ~{args.kill_every} s")
            clients = Clients(supervisor.url, token, systems, rate=args.rate)
            controller = Controller(supervisor, redis, postgres, seconds=args.seconds, every=args.kill_every, log=log)
            started = time.monotonic()
            clients.start()
            controller.start()
            while time.monotonic() - started < args.seconds:
                time.sleep(1)
            clients.stop()
            controller.stop()
            log(f"writes: {clients.attempts} attempted, {len(clients.acks)} acknowledged; settling")
            settled_at = time.monotonic()
            owed = settle(args.settle)
            settle_seconds = round(time.monotonic() - settled_at, 1)
            found = audit(clients, receiver, mail)
            restarts = supervisor.log().count("restarting in")
    finally:
        if supervisor:
            supervisor.stop()
        redis.stop()
        postgres.stop()
    lost, duplicated = totals(found)
    faults = {"kills": controller.kills, "supervisor_restarts": restarts, "redis_restarts": controller.redis_restarts,
              "pg_restarts": controller.pg_restarts}
    faults_ok = (sum(controller.kills.values()) > 0 and controller.redis_restarts == 1
                 and controller.pg_restarts == 1 and controller.error is None)
    return {"seconds": args.seconds, "writes_attempted": clients.attempts, **found, **faults,
            "controller_error": repr(controller.error) if controller.error else None,
            # Not settled: what is still owed counts as lost, though it may only be late (a backlog).
            "settled": not any(owed.values()), "settle_seconds": settle_seconds, "still_owed": owed,
            "lost": lost, "duplicated": duplicated,
            "pass": lost == 0 and duplicated == 0 and not any(owed.values()) and faults_ok}


def _answers(url: str, token: str) -> bool:
    try:
        api(url, token, "GET", "systems/?limit=1", timeout=5)
        return True
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--full", action="store_true", help="600 s")
    parser.add_argument("--rate", type=float, default=4.0, help="client writes per second, all clients together")
    parser.add_argument("--kill-every", type=float, default=5.0, help="seconds between kills (± half)")
    parser.add_argument("--settle", type=float, default=None,
                        help="seconds allowed to settle after the soak (default 90, 300 with --full)")
    parser.add_argument("--keep", action="store_true", help="keep the soak's folder (logs) and print its path")
    parser.add_argument("--redis-port", type=int, default=int(os.environ.get("BENCH_REDIS_PORT", "6412")))
    args = parser.parse_args()
    if args.full:
        args.seconds = 600
    if args.settle is None:
        args.settle = 300.0 if args.full else 90.0
    # SIGTERM (a CI timeout) ends the soak like Ctrl-C: its `finally` blocks stop every process it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"chaos: terminated after {time.monotonic() - begun:.0f} s"))
    begun, root = time.monotonic(), temporary_root()
    try:
        result = soak(args, root)
    finally:
        if args.keep:
            log(f"logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result), flush=True)
    sys.exit(0 if result["pass"] else 1)


if __name__ == "__main__":
    main()
