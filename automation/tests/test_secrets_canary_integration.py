"""A canary secret, used by a run on a real worker, is absent from a database dump, Redis, logs and the API.

The run sends the secret in a webhook header and body, and fails with an error (also logged) that contains it.
A second run tries every transformed use (reverse, slicing, base64, upper, a log message, an incident title):
the validator refuses each, and a document forced past it fails at each step; no form of the value is found.
Redis is watched with MONITOR for the whole run (every command the broker saw, message bodies decoded), then
its remaining keys are read; the database is dumped with pg_dump, all tables but the secrets table.
"""

import base64
import binascii
import re
import shutil
import subprocess
from contextlib import contextmanager

import pytest
import redis
from django.contrib.auth import get_user_model
from django.db import connection

from automation.expressions.secret_use import NOT_HERE, PLACEMENT
from automation.models import Automation, Run, RunStatus, Secret
from automation.services.automations import automation_create
from automation.tests.engine_support import actions_registered
from automation.tests.support import register_failing_action
from incidents.models import Incident
from testing.http_receiver import Receiver
from testing.process_fixtures import start_worker, wait_for

pytestmark = pytest.mark.integration

CANARY = "canary-integration-4b7d1e9a"
BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{16,}={0,2}")


@pytest.fixture
def failing_action():
    with actions_registered(register_failing_action):
        yield


def decoded_variants(blob: bytes) -> bytes:
    """`blob` plus the decoding of every base64 run in it (kombu's Redis transport base64-encodes bodies)."""
    parts = [blob]
    for match in BASE64_RUN.finditer(blob):
        chunk = match.group()
        try:
            parts.append(base64.b64decode(chunk + b"=" * (-len(chunk) % 4)))
        except (binascii.Error, ValueError):
            continue
    return b"\n".join(parts)


def redis_contents(url: str) -> bytes:
    client = redis.Redis.from_url(url)
    out = []
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == b"string":
            out.append(client.get(key) or b"")
        elif kind == b"list":
            out.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                out += [field, value]
        elif kind == b"set":
            out.extend(client.smembers(key))
        elif kind == b"zset":
            out.extend(client.zrange(key, 0, -1))
        out.append(key)
    return b"\n".join(out)


def pg_dump_without_secrets() -> str:
    binary = shutil.which("pg_dump")
    if binary is None:
        pytest.fail("pg_dump is not installed: this test dumps the database")
    db = connection.settings_dict
    result = subprocess.run(
        [binary, "-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"], "--data-only",
         f"--exclude-table-data={Secret._meta.db_table}", db["NAME"]],
        check=True, capture_output=True, text=True)
    return result.stdout


@contextmanager
def watched_worker(integration, tmp_path, name: str, monitor_log):
    """A worker allowed to reach local receivers, with every Redis command it causes written to `monitor_log`."""
    with open(monitor_log, "wb") as sink:
        monitor = subprocess.Popen(["redis-cli", "-p", str(integration.port), "monitor"], stdout=sink)
    worker = start_worker(tmp_path, name=name, CHECKSTACK_WEBHOOK_ALLOWLIST="127.0.0.1")
    try:
        yield worker
    finally:
        worker.stop()
        monitor.terminate()
        monitor.wait(timeout=10)


def test_a_canary_secret_leaks_nowhere(integration, tmp_path, settings, admin_api, failing_action):
    monitor_log = tmp_path / "redis-monitor.log"
    with watched_worker(integration, tmp_path, "canary", monitor_log) as worker:
        with Receiver() as receiver:
            assert admin_api.post("/api/v1/secrets/", {"name": "TOKEN", "value": CANARY},
                                  format="json").status_code == 201
            # Log messages cannot carry secrets any more; test.fail's text can, and it logs it.
            document = {"name": "leaky", "triggers": [{"event": "automation.manual"}], "actions": [
                {"action": "automation.webhook", "config": {
                    "url": receiver.url, "headers": {"Authorization": "Bearer {{ secret('TOKEN') }}"},
                    "body": {"token": "{{ secret('TOKEN') }}"}}},
                {"action": "test.fail", "config": {"text": "token is {{ secret('TOKEN') }}"}},
            ]}
            created = admin_api.post("/api/v1/automations/", document, format="json")
            assert created.status_code == 201, created.content
            started = admin_api.post(f"/api/v1/automations/{created.json()['id']}/run/", {"payload": {}},
                                     format="json")
            assert started.status_code in (200, 201, 202), started.content
            run_id = started.json()["run_id"]
            run = wait_for(lambda: Run.objects.filter(pk=run_id, status=RunStatus.FAILED).first(), timeout=60,
                           what="the run to fail on the worker")
            # The receiver got the real value: the secret was used, only never kept.
            assert receiver.requests[0]["headers"]["Authorization"] == f"Bearer {CANARY}"
            assert receiver.requests[0]["body"] == {"token": CANARY}

    assert run.error == "told to fail: token is ***"
    dump = pg_dump_without_secrets()
    assert "told to fail: token is ***" in dump  # the dump holds the run's rows...
    assert CANARY not in dump  # ...and not the value
    broker_traffic = monitor_log.read_bytes()
    assert run_id.encode() in decoded_variants(broker_traffic)  # MONITOR saw the run's wake-up message
    assert CANARY.encode() not in decoded_variants(broker_traffic)
    assert CANARY.encode() not in decoded_variants(redis_contents(settings.CELERY_BROKER_URL))
    worker_log = worker.log()
    assert "test.fail: token is ***" in worker_log
    assert CANARY not in worker_log
    for url in ("/api/v1/runs/", f"/api/v1/runs/{run_id}/", "/api/v1/secrets/", "/api/v1/secrets/TOKEN/",
                "/api/v1/automations/", f"/api/v1/automations/{created.json()['id']}/", "/api/v1/transitions/"):
        response = admin_api.get(url)
        assert response.status_code == 200, url
        assert CANARY.encode() not in response.content, url


TRANSFORMED_CANARY = "transform-canary-5c2e8f71"
# What a transforming template would have produced: none of these may be found anywhere.
LEAKED_FORMS = {
    "plain": TRANSFORMED_CANARY, "reversed": TRANSFORMED_CANARY[::-1], "sliced": TRANSFORMED_CANARY[2:],
    "upper": TRANSFORMED_CANARY.upper(), "base64": base64.b64encode(TRANSFORMED_CANARY.encode()).decode(),
}
REFUSED = {  # config path -> (action, config)
    "actions.0.config.headers.A": ("automation.webhook", {"headers": {"A": "{{ secret('TOKEN') | reverse }}"}}),
    "actions.0.config.body.t": ("automation.webhook", {"body": {"t": "{{ secret('TOKEN')[2:] }}"}}),
    "actions.0.config.headers.B": ("automation.webhook", {"headers": {"B": "{{ secret('TOKEN') | b64encode }}"}}),
    "actions.0.config.headers.C": ("automation.webhook", {"headers": {"C": "{{ secret('TOKEN').upper() }}"}}),
    "actions.0.config.message": ("automation.log", {"message": "{{ 'token ' ~ secret('TOKEN') }}"}),
    "actions.0.config.title": ("incident.create", {"title": "down {{ secret('TOKEN') }}", "severity": "major"}),
}


def forced_steps(receiver_url: str, system_id: str) -> list[dict]:
    """Every refused use, as steps of one document written past the validator; each step fails, the run goes on
    (continue_on_error) until the last, which fails the run."""
    hook = {"url": receiver_url}
    return [
        {"action": "automation.webhook", "continue_on_error": True,
         "config": {**hook, "headers": {"A": "{{ secret('TOKEN') | reverse }}"}}},
        {"action": "automation.webhook", "continue_on_error": True,
         "config": {**hook, "body": {"t": "{{ secret('TOKEN')[2:] }}"}}},
        {"action": "automation.webhook", "continue_on_error": True,
         "config": {"url": receiver_url + "?t={{ secret('TOKEN').upper() }}"}},
        {"action": "automation.log", "continue_on_error": True,
         "config": {"message": "{{ 'token ' ~ secret('TOKEN') }}"}},
        {"action": "incident.create", "continue_on_error": True,
         "config": {"title": "down {{ secret('TOKEN') }}", "severity": "major", "system_ids": [system_id]}},
        {"action": "test.fail", "config": {"text": "{% set s %}{{ secret('TOKEN') }}{% endset %}{{ s | reverse }}"}},
    ]


def test_transformed_secrets_are_refused_and_a_forced_document_fails_instead_of_leaking(
        integration, tmp_path, settings, admin_api, failing_action, mailoutbox):
    assert admin_api.post("/api/v1/secrets/", {"name": "TOKEN", "value": TRANSFORMED_CANARY},
                          format="json").status_code == 201
    system_id = admin_api.post("/api/v1/systems/", {"name": "api"}, format="json").json()["id"]
    for path, (action, config) in REFUSED.items():
        if action == "automation.webhook":
            config = {"url": "https://hooks.example.com/x", **config}
        if action == "incident.create":
            config = {**config, "system_ids": [system_id]}
        refused = admin_api.post("/api/v1/automations/", {"name": f"refused {path}", "triggers": [
            {"event": "automation.manual"}], "actions": [{"action": action, "config": config}]}, format="json")
        assert refused.status_code == 400, (path, refused.content)
        assert path in [error["path"] for error in refused.json()["errors"]], refused.json()
    assert not Automation.objects.exists()

    monitor_log = tmp_path / "redis-monitor.log"
    with watched_worker(integration, tmp_path, "transforms", monitor_log) as worker:
        with Receiver() as receiver:
            document = {"name": "forced", "description": "", "enabled": True, "mode": "single",
                        "concurrency_scope": "automation", "max_runs": 10, "conditions": [],
                        "triggers": [{"id": "automation_manual", "event": "automation.manual"}],
                        "actions": forced_steps(receiver.url, system_id)}
            admin = get_user_model().objects.get(username="admin")
            automation = automation_create(document=document, actor="user:test", run_as=admin)
            started = admin_api.post(f"/api/v1/automations/{automation.pk}/run/", {"payload": {}}, format="json")
            assert started.status_code == 201, started.content
            run_id = started.json()["run_id"]
            run = wait_for(lambda: Run.objects.filter(pk=run_id, status=RunStatus.FAILED).first(), timeout=60,
                           what="the forced run to fail on the worker")
            assert receiver.requests == []  # no webhook left with any form of the value

    assert run.error == f"config.text: {PLACEMENT}"
    assert [(step.path, step.status, step.error) for step in run.steps.order_by("path")] == [
        ("actions.0", "failed", f"config.headers.A: {PLACEMENT}"),
        ("actions.1", "failed", f"config.body.t: {PLACEMENT}"),
        ("actions.2", "failed", f"config.url: {PLACEMENT}"),
        ("actions.3", "failed", f"config.message: {NOT_HERE}"),
        ("actions.4", "failed", f"config.title: {NOT_HERE}"),
        ("actions.5", "failed", f"config.text: {PLACEMENT}"),
    ]
    assert not Incident.objects.exists()
    places = {
        "database": pg_dump_without_secrets(),
        "broker traffic": decoded_variants(monitor_log.read_bytes()).decode(errors="replace"),
        "broker keys": decoded_variants(redis_contents(settings.CELERY_BROKER_URL)).decode(errors="replace"),
        "worker log (and its console emails)": worker.log(),
        "emails": "\n".join(f"{m.subject}\n{m.body}\n{m.extra_headers}" for m in mailoutbox),
        "/status/": admin_api.get("/status/").content.decode(),
    }
    for url in ("/api/v1/runs/", f"/api/v1/runs/{run_id}/", "/api/v1/automations/", "/api/v1/transitions/",
                "/api/v1/incidents/", "/api/v1/systems/"):
        response = admin_api.get(url)
        assert response.status_code == 200, url
        places[url] = response.content.decode()
    assert run_id in places["broker traffic"]  # the watch saw the run's messages
    assert "config.headers.A" in places["database"]  # and the dump holds the run's rows
    found = [(form, place) for form, value in LEAKED_FORMS.items() for place, text in places.items() if value in text]
    assert found == []


CHANNEL_CANARY = "R0channelcanary7f3a9c21"
CHANNEL_URL_CANARY = "channel-url-canary-0d8e6b52"


def test_a_channels_secret_config_leaks_nowhere(integration, tmp_path, settings, admin_api):
    """A PagerDuty routing key and a secret Slack URL, used by a routed incident and by notify.send on a real
    worker (one receiver refusing with an answer that quotes the key): absent from the database dump, the
    broker, the worker's log, the change log and every API answer."""
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    monitor_log = tmp_path / "redis-monitor.log"
    with watched_worker(integration, tmp_path, "channels", monitor_log) as worker, \
            Receiver(status=202) as pager, Receiver(status=400, reply=f"bad {CHANNEL_URL_CANARY}".encode()) as chat:
        pd = admin_api.post("/api/v1/channels/", {"name": "pager", "kind": "pagerduty", "events": [
            "incident.created"], "config": {"url": pager.url, "routing_key": CHANNEL_CANARY}}, format="json")
        assert pd.status_code == 201, pd.content
        slack = admin_api.post("/api/v1/channels/", {"name": "chat", "kind": "slack", "events": [
            "incident.created"], "config": {"url": f"{chat.url}/{CHANNEL_URL_CANARY}"}}, format="json")
        assert slack.status_code == 201, slack.content
        system_id = admin_api.post("/api/v1/systems/", {"name": "api"}, format="json").json()["id"]
        incident = admin_api.post("/api/v1/incidents/", {"title": "down", "severity": "major",
                                                         "system_ids": [system_id]}, format="json")
        assert incident.status_code == 201, incident.content
        document = {"name": "pages", "triggers": [{"event": "automation.manual"}], "actions": [
            {"action": "notify.send", "config": {"channel": "pager", "title": "by hand", "message": "m"}}]}
        created = admin_api.post("/api/v1/automations/", document, format="json")
        assert created.status_code == 201, created.content
        run_id = admin_api.post(f"/api/v1/automations/{created.json()['id']}/run/", {"payload": {}},
                                format="json").json()["run_id"]
        wait_for(lambda: Run.objects.filter(pk=run_id, status=RunStatus.SUCCEEDED).exists(), timeout=60,
                 what="the notify.send run")
        wait_for(lambda: len(pager.requests) == 2 and chat.requests, timeout=60, what="both channels' requests")
        from notifications.channels.models import ChannelDelivery

        failed = wait_for(lambda: ChannelDelivery.objects.filter(channel__name="chat", status="failed").first(),
                          timeout=30, what="the refused delivery to fail")
        assert failed.last_error == "HTTP 400: bad ***"
        assert {r["body"]["routing_key"] for r in pager.requests} == {CHANNEL_CANARY}  # used, never kept
        worker_log = worker.log()

    places = {"database": pg_dump_without_secrets(),
              "broker traffic": decoded_variants(monitor_log.read_bytes()).decode(errors="replace"),
              "broker keys": decoded_variants(redis_contents(settings.CELERY_BROKER_URL)).decode(errors="replace"),
              "worker log": worker_log}
    for url in ("/api/v1/channels/", f"/api/v1/channels/{pd.json()['id']}/", f"/api/v1/runs/{run_id}/",
                "/api/v1/transitions/", "/api/v1/incidents/"):
        response = admin_api.get(url)
        assert response.status_code == 200, url
        places[url] = response.content.decode()
    assert "HTTP 400: bad ***" in places["database"]  # the dump holds the deliveries
    assert [(value, place) for value in (CHANNEL_CANARY, CHANNEL_URL_CANARY)
            for place, text in places.items() if value in text] == []
