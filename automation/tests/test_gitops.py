"""GitOps commands: validate, import (all or nothing, idempotent, never touching admin-made automations), export."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from automation.models import Automation, AutomationVersion
from automation.tests.engine_support import make_automation

pytestmark = pytest.mark.django_db

DOC = """name: {name}
triggers:
  - event: catalog.system_created
actions:
  - action: automation.log
    config:
      message: "{message}"
"""


def write(folder, filename, name, message="hi"):
    path = folder / filename
    path.write_text(DOC.format(name=name, message=message))
    return path


def run(command, *args, **kwargs):
    out = StringIO()
    call_command(command, *args, stdout=out, **kwargs)
    return out.getvalue()


def grant(user, *codenames):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="automation",
                                                         codename__in=codenames))


@pytest.fixture
def importer(django_user_model):
    user = django_user_model.objects.create_user("deployer")
    grant(user, "add_automation", "change_automation", "delete_automation")
    return user


def test_import_refuses_what_the_importing_user_may_not_do(tmp_path, django_user_model):
    django_user_model.objects.create_user("intern")
    write(tmp_path, "a.yaml", "a")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("automations_import", str(tmp_path), "--as", "intern", stdout=out)
    assert out.getvalue().strip() == f"{tmp_path / 'a.yaml'}:: permission denied: automation.add_automation"
    assert not Automation.objects.exists()


def test_validate_prints_file_path_message_and_fails(tmp_path):
    write(tmp_path, "ok.yaml", "ok")
    (tmp_path / "bad.yaml").write_text("name: bad\ntriggers: [{event: nope}]\nactions: []\n")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("automations_validate", str(tmp_path), stdout=out)
    assert out.getvalue().splitlines() == [f"{tmp_path / 'bad.yaml'}:triggers.0.event: unknown trigger event 'nope'"]


def test_import_creates_then_is_idempotent_then_updates_and_deletes(tmp_path, importer):
    write(tmp_path, "a.yaml", "a")
    write(tmp_path, "b.yaml", "b")
    assert "2 change(s) applied" in run("automations_import", str(tmp_path), "--as", "deployer")
    assert set(Automation.objects.values_list("name", "managed_by", "run_as__username")) == {
        ("a", "gitops", "deployer"), ("b", "gitops", "deployer")}

    assert "0 change(s) applied" in run("automations_import", str(tmp_path), "--as", "deployer")

    write(tmp_path, "a.yaml", "a", message="changed")
    (tmp_path / "b.yaml").unlink()
    out = run("automations_import", str(tmp_path), "--as", "deployer")
    assert "update: a" in out and "delete: b" in out
    a = Automation.objects.get()
    assert (a.name, a.version) == ("a", 2)
    assert AutomationVersion.objects.filter(automation=a).count() == 2


def test_dry_run_changes_nothing(tmp_path, importer):
    write(tmp_path, "a.yaml", "a")
    out = run("automations_import", str(tmp_path), "--as", "deployer", "--dry-run")
    assert "create: a" in out and "none made" in out
    assert not Automation.objects.exists()


def test_one_invalid_file_means_nothing_is_applied(tmp_path, importer):
    write(tmp_path, "a.yaml", "a")
    (tmp_path / "z.yaml").write_text("name: [")
    with pytest.raises(CommandError, match="nothing was imported"):
        run("automations_import", str(tmp_path), "--as", "deployer")
    assert not Automation.objects.exists()


def test_admin_made_automations_are_never_touched(tmp_path, importer):
    make_automation({"name": "handmade", "triggers": [{"event": "catalog.system_created"}], "actions": []})
    write(tmp_path, "a.yaml", "a")
    run("automations_import", str(tmp_path), "--as", "deployer")
    assert set(Automation.objects.values_list("name", flat=True)) == {"handmade", "a"}
    write(tmp_path, "h.yaml", "handmade")
    with pytest.raises(CommandError):
        run("automations_import", str(tmp_path), "--as", "deployer")
    assert Automation.objects.get(name="handmade").version == 1


def test_import_needs_an_active_user(tmp_path):
    write(tmp_path, "a.yaml", "a")
    with pytest.raises(CommandError, match="no active user"):
        run("automations_import", str(tmp_path), "--as", "ghost")


def test_export_round_trips_through_import(tmp_path, importer):
    write(tmp_path, "a.yaml", "a")
    run("automations_import", str(tmp_path), "--as", "deployer")
    out_dir = tmp_path / "export"
    assert run("automations_export", str(out_dir)).strip() == str(out_dir / "a.yaml")
    assert "0 change(s) applied" in run("automations_import", str(out_dir), "--as", "deployer")


def test_managed_automations_are_read_only_in_the_admin(tmp_path, importer, admin_client):
    write(tmp_path, "a.yaml", "a")
    run("automations_import", str(tmp_path), "--as", "deployer")
    automation = Automation.objects.get()
    page = admin_client.get(f"/admin/automation/automation/{automation.pk}/change/")
    assert page.status_code == 200
    assert b"Managed by gitops: read-only here" in page.content
    assert b'name="document_yaml"' not in page.content  # shown, not editable
    response = admin_client.post(f"/admin/automation/automation/{automation.pk}/change/",
                                 {"document_yaml": DOC.format(name="a", message="admin edit")})
    assert response.status_code == 403
    assert Automation.objects.get().version == 1


def test_import_may_not_remove_without_delete_permission(tmp_path, django_user_model, importer):
    write(tmp_path, "a.yaml", "a")
    write(tmp_path, "b.yaml", "b")
    run("automations_import", str(tmp_path), "--as", "deployer")
    editor = django_user_model.objects.create_user("editor")
    grant(editor, "add_automation", "change_automation")  # may save, may not delete
    write(tmp_path, "a.yaml", "a", message="changed")
    (tmp_path / "b.yaml").unlink()
    out = StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("automations_import", str(tmp_path), "--as", "editor", stdout=out)
    assert out.getvalue().splitlines() == ["b: removing it needs automation.delete_automation, which editor lacks"]
    assert sorted(Automation.objects.values_list("name", "version")) == [("a", 1), ("b", 1)]


def test_apply_rechecks_the_delete_permission(tmp_path, django_user_model, importer):
    from django.core.exceptions import PermissionDenied

    from automation.services.gitops import Plan, apply_sync

    write(tmp_path, "b.yaml", "b")
    run("automations_import", str(tmp_path), "--as", "deployer")
    editor = django_user_model.objects.create_user("editor")
    grant(editor, "add_automation", "change_automation")
    with pytest.raises(PermissionDenied, match="permission denied: automation.delete_automation"):
        apply_sync({}, Plan(delete=["b"]), editor=editor)  # a plan made by someone else, or before a revoke
    assert list(Automation.objects.values_list("name", flat=True)) == ["b"]
