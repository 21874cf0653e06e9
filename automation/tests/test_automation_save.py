"""The one door for saving a document (automation_save): every interface gets its checks and its message."""

import pytest
import yaml
from django.core.management import CommandError, call_command

from automation.documents.validate import validate_document
from automation.models import Automation, AutomationTrigger, AutomationVersion, ChangeEvent
from automation.services import automation_save as door
from automation.services.automation_save import NAME_TAKEN, NameTaken, automation_save

pytestmark = pytest.mark.django_db

URL = "/api/v1/automations/"


def document(name="nightly", message="hello"):
    return {"name": name, "triggers": [{"event": "automation.manual"}],
            "actions": [{"action": "automation.log", "config": {"message": message}}]}


def automation_rows():
    return (Automation.objects.count(), AutomationVersion.objects.count(), AutomationTrigger.objects.count(),
            ChangeEvent.objects.filter(kind="automation").count())


def test_a_taken_name_has_one_message_through_every_interface(admin_api, admin_client, admin_user):
    automation_save(document=document("taken"), editor=admin_user)
    other = automation_save(document=document("other"), editor=admin_user)
    before = automation_rows()

    created = admin_api.post(URL, document("taken"), format="json")
    renamed = admin_api.put(f"{URL}{other.pk}/", document("taken"), format="json")
    form = admin_client.post("/admin/automation/automation/add/",
                             {"document_yaml": yaml.safe_dump(document("taken")), "run_as": admin_user.pk})
    template = admin_api.post("/api/v1/automation-templates/incident-on-flapping/install/", {"name": "taken"},
                              format="json")

    expected = {"errors": [{"path": "name", "message": NAME_TAKEN}]}
    assert (created.status_code, created.json()) == (400, expected)
    assert (renamed.status_code, renamed.json()) == (400, expected)
    assert form.context["adminform"].form.errors["document_yaml"] == [f"name: {NAME_TAKEN}"]
    assert (template.status_code, template.json()) == (400, {"name": [NAME_TAKEN]})
    assert automation_rows() == before


def test_a_name_taken_by_a_concurrent_save_is_name_taken_and_writes_nothing(admin_user, monkeypatch):
    # The race: the name was free when checked, then another save committed it first.
    automation_save(document=document("taken"), editor=admin_user)
    monkeypatch.setattr(door, "automation_check", lambda *, document, **_: validate_document(document).document)
    before = automation_rows()

    with pytest.raises(NameTaken):
        automation_save(document=document("taken"), editor=admin_user)

    assert automation_rows() == before


def test_gitops_imports_through_the_door_and_a_refusal_there_imports_nothing(tmp_path, admin_user, monkeypatch):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(document("a")))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(document("b")))
    real_create, taken = door.automation_create, []

    def create_while_someone_takes_b(**kwargs):  # "b" is taken after the plan, while "a" is written
        created = real_create(**kwargs)
        if not taken:
            taken.append(real_create(document=validate_document(document("b")).document, actor="user:someone"))
        return created

    monkeypatch.setattr(door, "automation_create", create_while_someone_takes_b)

    with pytest.raises(CommandError, match=f"name: {NAME_TAKEN}; nothing was imported"):
        call_command("automations_import", str(tmp_path), "--as", admin_user.username)

    assert taken  # "a" was written through the door before "b" was refused there
    assert automation_rows() == (0, 0, 0, 0)  # rolled back with the rest
