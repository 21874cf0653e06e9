"""A canary secret, used by a run on a real worker, is absent from a database dump, Redis, logs and the API.

The run logs the secret, sends it in a webhook header and body, and fails with an error that contains it.
Redis is watched with MONITOR for the whole run (every command the broker saw, message bodies decoded), then
its remaining keys are read; the database is dumped with pg_dump, all tables but the secrets table.
"""

import base64
import binascii
import re
import shutil
import subprocess

import pytest
import redis
from django.db import connection

from automation.models import Run, RunStatus, Secret
from automation.tests.engine_support import actions_registered
from automation.tests.support import register_failing_action
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


def test_a_canary_secret_leaks_nowhere(integration, tmp_path, settings, admin_api, failing_action):
    monitor_log = tmp_path / "redis-monitor.log"
    with open(monitor_log, "wb") as sink:
        monitor = subprocess.Popen(["redis-cli", "-p", str(integration.port), "monitor"], stdout=sink)
    worker = start_worker(tmp_path, name="canary", CHECKSTACK_WEBHOOK_ALLOWLIST="127.0.0.1")
    try:
        with Receiver() as receiver:
            assert admin_api.post("/api/v1/secrets/", {"name": "TOKEN", "value": CANARY},
                                  format="json").status_code == 201
            document = {"name": "leaky", "triggers": [{"event": "automation.manual"}], "actions": [
                {"action": "automation.log", "config": {"message": "token is {{ secret('TOKEN') }}"}},
                {"action": "automation.webhook", "config": {
                    "url": receiver.url, "headers": {"Authorization": "Bearer {{ secret('TOKEN') }}"},
                    "body": {"token": "{{ secret('TOKEN') }}"}}},
                {"action": "test.fail", "config": {"text": "boom {{ secret('TOKEN') }}"}},
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
    finally:
        worker.stop()
        monitor.terminate()
        monitor.wait(timeout=10)

    assert run.error == "told to fail: boom ***"
    dump = pg_dump_without_secrets()
    assert "token is ***" in dump  # the dump holds the run's rows...
    assert CANARY not in dump  # ...and not the value
    broker_traffic = monitor_log.read_bytes()
    assert run_id.encode() in decoded_variants(broker_traffic)  # MONITOR saw the run's wake-up message
    assert CANARY.encode() not in decoded_variants(broker_traffic)
    assert CANARY.encode() not in decoded_variants(redis_contents(settings.CELERY_BROKER_URL))
    worker_log = worker.log()
    assert "token is ***" in worker_log
    assert CANARY not in worker_log
    for url in ("/api/v1/runs/", f"/api/v1/runs/{run_id}/", "/api/v1/secrets/", "/api/v1/secrets/TOKEN/",
                "/api/v1/automations/", f"/api/v1/automations/{created.json()['id']}/", "/api/v1/transitions/"):
        response = admin_api.get(url)
        assert response.status_code == 200, url
        assert CANARY.encode() not in response.content, url
