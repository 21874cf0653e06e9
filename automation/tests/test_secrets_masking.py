"""A canary secret used by a run appears nowhere outside the secrets table: rows, logs, API output."""

import json
import logging

import pytest
from django.apps import apps

from automation.engine.runs.runner import run_advance
from automation.models import Run, Secret
from automation.secrets import secret_set
from automation.services.runs import run_manual
from automation.tests.engine_support import make_automation
from testing.http_receiver import Receiver

CANARY = "canary-7f3e9c1d5b"

pytestmark = pytest.mark.django_db(transaction=True)


def every_row_outside_the_secrets_table() -> str:
    dump = []
    for model in apps.get_models():
        if model is Secret:
            continue
        dump.extend(json.dumps(row, default=str) for row in model._base_manager.values())
    return "\n".join(dump)


def test_a_resolved_secret_is_masked_everywhere(journal, settings, caplog, admin_client):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    secret_set(name="TOKEN", value=CANARY)
    with Receiver() as receiver:
        automation = make_automation({"name": "leaky", "triggers": [{"event": "automation.manual"}], "actions": [
            {"action": "test.note", "config": {"text": "token is {{ secret('TOKEN') }}"}},
            {"action": "automation.webhook", "config": {
                "url": receiver.url, "headers": {"Authorization": "Bearer {{ secret('TOKEN') }}"},
                "body": {"token": "{{ secret('TOKEN') }}"}}},
            {"action": "test.note", "config": {"text": "boom {{ secret('TOKEN') }}", "fail": True}},
        ]}, )
        # The admin user is the editor; the run's record is what we inspect.
        run = run_manual(automation=automation, actor="user:admin")
        with caplog.at_level(logging.INFO):
            run_advance(run_id=run.pk)
        # The receiver did get the real value: the secret is used, just never kept.
        assert receiver.requests[0]["headers"]["Authorization"] == f"Bearer {CANARY}"
        assert receiver.requests[0]["body"] == {"token": CANARY}

    run = Run.objects.get(pk=run.pk)
    assert run.status == "failed"
    assert run.error == "told to fail: boom ***"
    assert run.steps.get(path="actions.2").error == "told to fail: boom ***"
    assert run.steps.get(path="actions.0").result == {"text": "token is ***"}
    assert journal.entries[-1][1] == f"boom {CANARY}"  # the action itself saw the value
    assert CANARY not in every_row_outside_the_secrets_table()
    assert CANARY.encode() not in bytes(Secret.objects.get().ciphertext)
    assert CANARY not in caplog.text
    assert "note: token is ***" in caplog.text
    for url in ("/api/v1/runs/", f"/api/v1/runs/{run.pk}/", "/api/v1/secrets/", "/api/v1/secrets/TOKEN/",
                "/api/v1/automations/"):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert CANARY.encode() not in response.content, url
