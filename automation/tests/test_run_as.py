"""Automations act as a user: edit-time and run-time permission checks, and the audit trail of edits."""

import pytest
from django.contrib.auth.models import Permission

from automation.engine.runs.runner import run_advance
from automation.models import Automation, Run, RunStatus, Transition
from automation.services.runs import run_manual
from catalog.services import system_create
from incidents.models import Incident

pytestmark = pytest.mark.django_db


def grant(user, *perms):
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def make_user(django_user_model, name, *perms):
    user = django_user_model.objects.create_user(name)
    grant(user, *perms)
    return django_user_model.objects.get(pk=user.pk)  # fresh: no cached permissions


def opening_document(system_id, name="opener"):
    return {"name": name, "triggers": [{"event": "automation.manual"}], "actions": [
        {"id": "open", "action": "incident.create",
         "config": {"title": "down", "system_ids": [str(system_id)], "severity": "major"}}]}


@pytest.fixture
def system():
    return system_create(name="api", actor="system")


EDITOR_PERMS = ("automation.add_automation", "automation.change_automation", "automation.view_automation")


def test_editor_lacking_an_actions_permission_gets_403_and_nothing_is_saved(django_user_model, api_client, system):
    editor = make_user(django_user_model, "ed", *EDITOR_PERMS)
    api_client.force_authenticate(editor)
    response = api_client.post("/api/v1/automations/", opening_document(system.pk), format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "permission denied: incidents.add_incident"}
    assert not Automation.objects.exists()
    assert not Transition.objects.filter(kind="automation").exists()


def test_run_as_holding_more_than_the_editor_is_refused(django_user_model, api_client, system):
    editor = make_user(django_user_model, "ed", *EDITOR_PERMS, "incidents.add_incident")
    make_user(django_user_model, "powerful", "incidents.add_incident", "incidents.delete_incident")
    api_client.force_authenticate(editor)
    response = api_client.post("/api/v1/automations/?run_as=powerful", opening_document(system.pk), format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "run_as powerful holds a permission you do not: incidents.delete_incident"}
    assert not Automation.objects.exists()


def test_allowed_editor_saves_and_its_edits_are_tracked_with_the_editor_as_actor(django_user_model, api_client,
                                                                                system):
    editor = make_user(django_user_model, "ed", *EDITOR_PERMS, "incidents.add_incident")
    make_user(django_user_model, "weaker", "incidents.add_incident")
    api_client.force_authenticate(editor)
    created = api_client.post("/api/v1/automations/?run_as=weaker", opening_document(system.pk), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["run_as"] == "weaker"
    automation_id = created.json()["id"]
    api_client.post(f"/api/v1/automations/{automation_id}/disable/")
    rows = list(Transition.objects.filter(kind="automation", entity_id=automation_id).order_by("id")
                .values_list("field", "from_value", "to_value", "actor"))
    assert rows == [
        ("enabled", None, True, "user:ed"), ("managed_by", None, "", "user:ed"), ("name", None, "opener", "user:ed"),
        ("run_as", None, "weaker", "user:ed"), ("version", None, 1, "user:ed"),
        ("enabled", True, False, "user:ed"), ("version", 1, 2, "user:ed"),
    ]


def test_run_as_lacking_a_permission_at_run_time_fails_the_step(django_user_model, system):
    from automation.services.automations import automation_create

    runner = make_user(django_user_model, "runner")  # holds nothing
    automation = automation_create(document=_validated(opening_document(system.pk)), actor="user:admin",
                                   run_as=runner)
    run = run_manual(automation=automation, actor="user:admin")
    run_advance(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.steps.get(path="actions.0").error == "permission denied: incidents.add_incident"
    assert not Incident.objects.exists()


def test_an_inactive_run_as_fails_the_run_clearly(django_user_model, system):
    from automation.services.automations import automation_create

    runner = make_user(django_user_model, "gone", "incidents.add_incident")
    automation = automation_create(document=_validated(opening_document(system.pk)), actor="user:admin",
                                   run_as=runner)
    runner.is_active = False
    runner.save()
    run = run_manual(automation=automation, actor="user:admin")
    run_advance(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, "run_as user gone is inactive")
    assert not run.steps.exists() and not Incident.objects.exists()


def test_domain_writes_of_a_run_carry_the_run_actor(django_user_model, system):
    from automation.services.automations import automation_create

    runner = make_user(django_user_model, "runner", "incidents.add_incident")
    automation = automation_create(document=_validated(opening_document(system.pk)), actor="user:admin",
                                   run_as=runner)
    run = run_manual(automation=automation, actor="user:admin")
    run_advance(run_id=run.pk)
    assert (Run.objects.get().status, Run.objects.get().run_as) == (RunStatus.SUCCEEDED, "runner")
    incident = Incident.objects.get()
    assert set(Transition.objects.filter(kind="incident", entity_id=str(incident.pk)).values_list("actor", flat=True)) \
        == {f"run:{run.pk}"}


def test_admin_form_refuses_what_the_editor_may_not_do(django_user_model, client, system):
    editor = make_user(django_user_model, "ed", *EDITOR_PERMS)
    editor.is_staff = True
    editor.save()
    client.force_login(editor)
    from automation.documents.io import dump_yaml

    response = client.post("/admin/automation/automation/add/",
                           {"document_yaml": dump_yaml(opening_document(system.pk))})
    assert response.status_code == 200
    assert b"permission denied: incidents.add_incident" in response.content
    assert not Automation.objects.exists()


def test_version_diff_page_shows_both_versions(admin_client, system):
    from automation.services.automations import automation_create, automation_update

    automation = automation_create(document=_validated(opening_document(system.pk)), actor="user:admin")
    changed = _validated({**opening_document(system.pk), "description": "now described"})
    automation_update(automation=automation, document=changed, actor="user:admin")
    page = admin_client.get(f"/admin/automation/automation/{automation.pk}/diff/?from=1&to=2")
    assert page.status_code == 200
    assert b"described" in page.content and b"version 1" in page.content and b"version 2" in page.content
    assert admin_client.get(f"/admin/automation/automation/{automation.pk}/diff/?from=1&to=9").status_code == 404


def test_version_diff_page_escapes_the_editors_and_the_documents_text(admin_client, system):
    from automation.services.automations import automation_create, automation_update

    # Given versions whose author and text carry markup
    automation = automation_create(document=_validated(opening_document(system.pk)),
                                   actor="user:<script>alert('author')</script>")
    changed = _validated({**opening_document(system.pk), "description": "</td><script>alert('doc')</script>"})
    automation_update(automation=automation, document=changed, actor="gitops:<img src=x onerror=alert(1)>")
    # When the diff is shown
    page = admin_client.get(f"/admin/automation/automation/{automation.pk}/diff/?from=1&to=2").content.decode()
    # Then every piece of it is text, never markup
    assert "<script>alert" not in page and "<img src=x" not in page and "</td><script>" not in page
    assert "version 1 (user:&lt;script&gt;alert(&#x27;author&#x27;)&lt;/script&gt;)" in page
    assert "version 2 (gitops:&lt;img src=x onerror=alert(1)&gt;)" in page
    assert "&lt;/td&gt;&lt;script&gt;alert" in page


def test_admin_lists_automations_whose_run_as_is_inactive(django_user_model, admin_client, system):
    from automation.services.automations import automation_create

    gone = make_user(django_user_model, "gone")
    automation_create(document=_validated(opening_document(system.pk, "orphan")), actor="user:admin", run_as=gone)
    automation_create(document=_validated(opening_document(system.pk, "fine")), actor="user:admin")
    gone.is_active = False
    gone.save()
    page = admin_client.get("/admin/automation/automation/?run_as_active=no")
    assert b"orphan" in page.content and b">fine<" not in page.content


def _validated(document):
    from automation.documents.validate import validate_document

    result = validate_document(document)
    assert result.errors == []
    return result.document
