"""The notify.send action: by channel name or id, needs notifications.use_channel, secrets stay out of the run."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.forms.models import model_to_dict

from automation.documents.validate import validate_document
from automation.engine.runs.runner import run_advance
from automation.models import Automation, Run, RunStatus
from automation.services.automations import automation_create
from automation.services.runs import run_manual
from notifications.tests.channel_support import make_channel
from testing.http_receiver import Receiver

SECRET_TOKEN = "R0123456789abcdefNOTIFYSECRET"


def make_user(django_user_model, name, *perms):
    user = django_user_model.objects.create_user(name)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return django_user_model.objects.get(pk=user.pk)


def document(channel: str) -> dict:
    return validate_document(raw_document(channel)).document


def raw_document(channel: str) -> dict:
    return {"name": "page", "triggers": [{"event": "automation.manual"}], "actions": [
        {"action": "notify.send", "config": {"channel": channel, "title": "Disk full",
                                             "message": "on {{ 'db' }}", "severity": "critical"}}]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("by", ["name", "id"])
def test_notify_send_delivers_through_the_channel_and_keeps_its_secret_out_of_the_run(
        django_user_model, settings, caplog, by):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    bot = make_user(django_user_model, "bot", "notifications.use_channel")
    with Receiver(status=202) as receiver:
        channel = make_channel("pager", "pagerduty", {"url": receiver.url, "routing_key": SECRET_TOKEN})
        automation = automation_create(document=document(channel.name if by == "name" else str(channel.pk)),
                                       actor="user:test", run_as=bot)
        run = run_manual(automation=automation, actor="user:test")
        run_advance(run_id=run.pk)
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    body = receiver.requests[0]["body"]
    assert (body["routing_key"], body["payload"]["summary"], body["payload"]["severity"],
            body["payload"]["custom_details"]["text"]) == (SECRET_TOKEN, "Disk full", "critical", "on db")
    step = run.steps.get()
    assert step.result == {"channel": "pager", "status_code": 202}
    stored = json.dumps([model_to_dict(run), model_to_dict(step)], default=str)
    assert SECRET_TOKEN not in stored
    assert SECRET_TOKEN not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_refusal_is_the_steps_error_with_the_secret_masked(django_user_model, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    bot = make_user(django_user_model, "bot", "notifications.use_channel")
    with Receiver(status=400, reply=f"bad key {SECRET_TOKEN}".encode()) as receiver:
        make_channel("pager", "pagerduty", {"url": receiver.url, "routing_key": SECRET_TOKEN})
        automation = automation_create(document=document("pager"), actor="user:test", run_as=bot)
        run = run_manual(automation=automation, actor="user:test")
        run_advance(run_id=run.pk)
    run = Run.objects.get(pk=run.pk)
    assert (run.status, run.error) == (RunStatus.FAILED, "HTTP 400: bad key ***")


@pytest.mark.django_db
def test_saving_notify_send_needs_use_channel(django_user_model, api_client):
    editor = make_user(django_user_model, "ed", "automation.add_automation", "automation.change_automation",
                       "automation.view_automation")
    api_client.force_authenticate(editor)
    response = api_client.post("/api/v1/automations/", raw_document("pager"), format="json")
    assert (response.status_code, response.json()) == (403, {"detail": "permission denied: notifications.use_channel"})
    assert not Automation.objects.exists()
