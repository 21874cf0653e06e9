"""Secrets only where an action declares them, only untransformed, and only for users holding use_secret."""

import pytest
from django.contrib.auth.models import Permission

from automation.documents.validate import validate_document
from automation.engine.runs.runner import run_advance
from automation.expressions.secret_use import NEEDS_LITERAL, NOT_HERE, PLACEMENT
from automation.models import Automation, Run, RunStatus
from automation.secrets import secret_set
from automation.services.automations import automation_create
from automation.services.runs import run_manual
from testing.http_receiver import Receiver

CANARY = "scope-canary-93b1f0"
HOOK = "https://hooks.example.com/x"
ALLOWED = ["{{ secret('TOKEN') }}", "Bearer {{ secret('TOKEN') }}", "{{ 'Bearer ' ~ secret('TOKEN') }}",
           "{{ 'a' ~ (secret('TOKEN') ~ 'b') }} and {{ secret('TOKEN') }}"]
# Each would hand the mask a value it does not know, or capture the value before it is output.
TRANSFORMED = {
    "reverse": "{{ secret('TOKEN') | reverse }}",
    "slice": "{{ secret('TOKEN')[1:] }}",
    "upper": "{{ secret('TOKEN').upper() }}",
    "arithmetic": "{{ secret('TOKEN') * 2 }}",
    "join filter": "x{{ secret('TOKEN') | join('-') }}",
    "function argument": "{{ dict(a=secret('TOKEN')) }}",
    "loop over it": "{% for c in secret('TOKEN') %}{{ c }}{% endfor %}",
    "captured by set": "{% set s %}{{ secret('TOKEN') }}{% endset %}{{ s | reverse }}",
    "filter block": "{% filter upper %}{{ secret('TOKEN') }}{% endfilter %}",
    "macro": "{% macro m() %}{{ secret('TOKEN') }}{% endmacro %}{{ m() | reverse }}",
    "aliased": "{% set f = secret %}{{ f('TOKEN') | reverse }}",
    "concatenated then filtered": "{{ ('a' ~ secret('TOKEN')) | reverse }}",
    "conditional": "{{ secret('TOKEN') if true else '' }}",
}


def webhook(header: str) -> dict:
    return {"action": "automation.webhook", "config": {"url": HOOK, "headers": {"Authorization": header}}}


def document(*actions) -> dict:
    return {"name": "uses a secret", "triggers": [{"event": "automation.manual"}], "actions": list(actions)}


def errors_of(doc) -> list[dict]:
    return validate_document(doc, known_secrets={"TOKEN"}).errors


@pytest.mark.parametrize("header", ALLOWED)
def test_a_whole_or_concatenated_secret_in_a_declared_field_is_valid(header):
    assert errors_of(document(webhook(header))) == []


@pytest.mark.parametrize("header", TRANSFORMED.values(), ids=TRANSFORMED.keys())
def test_a_transformed_secret_is_refused_with_its_path(header):
    assert errors_of(document(webhook(header))) == [
        {"path": "actions.0.config.headers.Authorization", "message": PLACEMENT}]


def test_a_computed_secret_name_is_refused():
    assert errors_of(document(webhook("{{ secret('TO' ~ 'KEN') }}"))) == [
        {"path": "actions.0.config.headers.Authorization", "message": NEEDS_LITERAL}]


@pytest.mark.parametrize("step, path", [
    ({"action": "automation.log", "config": {"message": "{{ 'token ' ~ secret('TOKEN') }}"}},
     "actions.0.config.message"),
    ({"action": "automation.email", "config": {"to": ["a@example.com"], "subject": "s",
                                               "body": "{{ secret('TOKEN') }}"}}, "actions.0.config.body"),
    ({"action": "incident.create", "config": {"title": "{{ secret('TOKEN') }}", "severity": "major",
                                              "system_ids": ["00000000-0000-0000-0000-000000000001"]}},
     "actions.0.config.title"),
    ({"action": "maintenance.add_update", "config": {"message": "{{ secret('TOKEN') }}"}},
     "actions.0.config.message"),
    ({"variables": {"token": "{{ secret('TOKEN') }}"}}, "actions.0.variables.token"),
], ids=["log message", "email body", "incident title", "maintenance update", "variables"])
def test_a_secret_outside_a_declared_field_is_refused(step, path):
    assert {"path": path, "message": NOT_HERE} in errors_of(document(step))


# --- permissions and run time --------------------------------------------------------------------------

def grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="automation",
                                                         codename__in=codenames))


def make_user(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name)
    grant(user, *codenames)
    return django_user_model.objects.get(pk=user.pk)


SAVE = ("add_automation", "change_automation", "view_automation")


@pytest.mark.django_db
@pytest.mark.parametrize("held, missing", [
    (("send_webhook",), "automation.use_secret"),
    (("use_secret",), "automation.send_webhook"),
])
def test_saving_needs_use_secret_and_send_webhook(django_user_model, api_client, held, missing):
    secret_set(name="TOKEN", value=CANARY)
    api_client.force_authenticate(make_user(django_user_model, "ed", *SAVE, *held))
    response = api_client.post("/api/v1/automations/", document(webhook("Bearer {{ secret('TOKEN') }}")),
                               format="json")
    assert (response.status_code, response.json()) == (403, {"detail": f"permission denied: {missing}"})
    assert not Automation.objects.exists()


@pytest.mark.django_db
def test_run_as_must_hold_use_secret_too(django_user_model, api_client):
    secret_set(name="TOKEN", value=CANARY)
    make_user(django_user_model, "bot", "send_webhook")
    api_client.force_authenticate(make_user(django_user_model, "ed", *SAVE, "send_webhook", "use_secret"))
    response = api_client.post("/api/v1/automations/?run_as=bot", document(webhook("{{ secret('TOKEN') }}")),
                               format="json")
    assert (response.status_code, response.json()) == (403, {"detail": "run_as bot lacks automation.use_secret"})
    assert not Automation.objects.exists()


HARMLESS = {"automation.webhook": {"url": HOOK}, "automation.log": {"message": "x"}}


def forced(run_as, config: dict, action="automation.webhook") -> Automation:
    """An automation written straight to the database, past the validator (a restored dump, a raw SQL edit)."""
    clean = validate_document(document({"action": action, "config": HARMLESS[action]}))
    assert clean.errors == []
    stored = {**clean.document, "actions": [{"action": action, "config": config}]}
    return automation_create(document=stored, actor="user:test", run_as=run_as)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["reverse", "slice", "upper", "captured by set"])
def test_a_transformed_secret_that_skipped_validation_fails_the_step_and_sends_nothing(
        django_user_model, settings, name):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    secret_set(name="TOKEN", value=CANARY)
    bot = make_user(django_user_model, "bot", "send_webhook", "use_secret")
    with Receiver() as receiver:
        automation = forced(bot, {"url": receiver.url, "headers": {"Authorization": TRANSFORMED[name]}})
        run = run_manual(automation=automation, actor="user:test")
        run_advance(run_id=run.pk)
        assert receiver.requests == []
    run = Run.objects.get(pk=run.pk)
    assert (run.status, run.error) == (RunStatus.FAILED, f"config.headers.Authorization: {PLACEMENT}")
    assert run.steps.get().result == {}


@pytest.mark.django_db(transaction=True)
def test_a_secret_in_a_log_message_that_skipped_validation_fails_the_step(django_user_model, caplog):
    secret_set(name="TOKEN", value=CANARY)
    automation = forced(make_user(django_user_model, "bot", "use_secret"),
                        {"message": "{{ secret('TOKEN') }}"}, action="automation.log")
    run = run_manual(automation=automation, actor="user:test")
    run_advance(run_id=run.pk)
    run = Run.objects.get(pk=run.pk)
    assert (run.status, run.error) == (RunStatus.FAILED, f"config.message: {NOT_HERE}")
    assert "***" not in caplog.text and CANARY not in caplog.text  # the secret was never even resolved


@pytest.mark.django_db(transaction=True)
def test_use_secret_is_rechecked_when_the_step_runs(django_user_model, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    secret_set(name="TOKEN", value=CANARY)
    bot = make_user(django_user_model, "bot", "send_webhook")  # use_secret revoked since the save
    with Receiver() as receiver:
        automation = forced(bot, {"url": receiver.url, "headers": {"Authorization": "{{ secret('TOKEN') }}"}})
        run = run_manual(automation=automation, actor="user:test")
        run_advance(run_id=run.pk)
        assert receiver.requests == []
    assert Run.objects.get(pk=run.pk).error == "permission denied: automation.use_secret"


@pytest.mark.django_db(transaction=True)
def test_an_automation_without_run_as_never_runs_its_actions(settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    with Receiver() as receiver:
        automation = forced(None, {"url": receiver.url})
        run = run_manual(automation=automation, actor="user:test")
        run_advance(run_id=run.pk)
        assert receiver.requests == []
    run = Run.objects.get(pk=run.pk)
    assert (run.status, run.error) == (
        RunStatus.FAILED, "the automation has no run_as user, so it cannot run; save it with one")
    assert not run.steps.exists()
