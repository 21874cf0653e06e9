"""Every validation rule of docs/automations.md, through each entry point that saves documents: the API, the admin
form and the GitOps importer. Each gets the same {path, message} and saves nothing."""

import pytest
import yaml
from django.core.management import CommandError, call_command

from automation.models import Automation, AutomationVersion, ChangeEvent

pytestmark = pytest.mark.django_db

VALID = {"name": "doc", "triggers": [{"event": "incident.created"}],
         "actions": [{"action": "automation.log", "config": {"message": "hi"}}]}


def with_actions(*actions):
    return {**VALID, "actions": list(actions)}


# (rule, YAML text, the path its error must name)
CASES = [
    ("malformed YAML", "name: [unclosed", ""),
    ("unknown key", yaml.safe_dump({**VALID, "colour": "blue"}), "colour"),
    ("unknown trigger event", yaml.safe_dump({**VALID, "triggers": [{"event": "incident.exploded"}]}),
     "triggers.0.event"),
    ("unknown action", yaml.safe_dump(with_actions({"action": "incident.explode", "config": {}})), "actions.0.action"),
    ("config against the action's schema",
     yaml.safe_dump(with_actions({"action": "incident.create", "config": {"title": "x", "severity": "apocalyptic",
                                                                          "system_ids": ["a"]}, "id": "open"})),
     "actions.0.config.severity"),
    ("bad duration", yaml.safe_dump(with_actions({"delay": {"minutes": -5}})), "actions.0.delay.minutes"),
    ("expression that does not parse",
     yaml.safe_dump({**VALID, "triggers": [{"event": "incident.created", "filter": "trigger.payload.severity =="}]}),
     "triggers.0.filter"),
    ("braces in an expression field",
     yaml.safe_dump({**VALID, "triggers": [{"event": "incident.created", "filter": "{{ true }}"}]}),
     "triggers.0.filter"),
    ("artifact reference without an earlier producer",
     yaml.safe_dump(with_actions({"action": "automation.log",
                                  "config": {"message": "{{ artifacts.open.incident.incident_id }}"}})),
     "actions.0.config.message"),
    ("producing step without an id",
     yaml.safe_dump(with_actions({"action": "incident.create", "config": {"title": "x", "system_ids": ["a"]}})),
     "actions.0.id"),
    ("unknown secret",
     yaml.safe_dump(with_actions({"action": "automation.log", "config": {"message": "{{ secret('NOPE') }}"}})),
     "actions.0.config.message"),
]
IDS = [case[0] for case in CASES]


def nothing_saved():
    return not Automation.objects.exists() and not AutomationVersion.objects.exists() and \
        not ChangeEvent.objects.filter(kind="automation").exists()


def error_paths(errors):
    return [error["path"] for error in errors]


@pytest.mark.parametrize("rule, text, path", CASES, ids=IDS)
def test_the_api_refuses_it(admin_api, rule, text, path):
    response = admin_api.generic("POST", "/api/v1/automations/", text, content_type="application/yaml")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert path in error_paths(errors), errors
    assert all(error["message"] for error in errors)
    assert nothing_saved()


@pytest.mark.parametrize("rule, text, path", CASES, ids=IDS)
def test_the_admin_form_refuses_it(admin_client, admin_user, rule, text, path):
    response = admin_client.post("/admin/automation/automation/add/", {"document_yaml": text,
                                                                        "run_as": admin_user.pk})
    assert response.status_code == 200  # the form again, with its errors
    messages = " ".join(response.context["adminform"].form.errors["document_yaml"])
    assert (f"{path}:" if path else "") in messages, messages
    assert nothing_saved()


@pytest.mark.parametrize("rule, text, path", CASES, ids=IDS)
def test_the_importer_refuses_it_and_imports_nothing(admin_user, tmp_path, capsys, rule, text, path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({**VALID, "name": "good"}))
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(CommandError):
        call_command("automations_import", str(good), str(bad), "--as", admin_user.username)
    output = capsys.readouterr().out
    assert f"{bad}:{path}:" in output if path else f"{bad}" in output, output
    assert nothing_saved()  # all files are validated before any is applied: not even good.yaml
