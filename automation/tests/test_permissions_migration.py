"""The data migration grants the new permissions so that every automation that worked keeps working."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from automation.tests.engine_support import make_automation

pytestmark = pytest.mark.django_db

migration = importlib.import_module("automation.migrations.0008_secret_and_sending_permissions")
NEW = {"automation.use_secret", "automation.send_webhook", "automation.send_email"}


def perms(*codenames):
    return Permission.objects.filter(content_type__app_label="automation", codename__in=codenames)


def fresh(user):
    return type(user).objects.get(pk=user.pk)


def webhook_doc(name, header="x"):
    return {"name": name, "triggers": [{"event": "automation.manual"}], "actions": [{"sequence": [
        {"action": "automation.webhook", "config": {"url": "https://h.example.com/", "headers": {"A": header}}}]}]}


def test_savers_and_the_run_as_of_automations_using_them_get_the_new_permissions(django_user_model):
    editor = django_user_model.objects.create_user("editor")
    editor.user_permissions.add(*perms("change_automation"))
    group = Group.objects.create(name="authors")
    group.permissions.add(*perms("add_automation"))
    member = django_user_model.objects.create_user("member")
    member.groups.add(group)
    hook_bot = django_user_model.objects.create_user("hook-bot")
    make_automation(webhook_doc("hook"), run_as=hook_bot)
    make_automation({"name": "mail", "triggers": [{"event": "automation.manual"}], "actions": [
        {"action": "automation.email", "config": {"to": ["a@example.com"], "subject": "s"}}]},
        run_as=(mail_bot := django_user_model.objects.create_user("mail-bot")))
    reader = django_user_model.objects.create_user("reader")
    reader.user_permissions.add(*perms("view_automation"))

    migration.grant(apps, None)

    assert {f"automation.{p.codename}" for p in group.permissions.all()} >= NEW
    assert fresh(editor).get_all_permissions() >= NEW
    assert fresh(member).get_all_permissions() >= NEW
    assert fresh(hook_bot).get_all_permissions() == {"automation.send_webhook"}
    assert fresh(mail_bot).get_all_permissions() == {"automation.send_email"}
    assert fresh(reader).get_all_permissions() == {"automation.view_automation"}


def test_a_run_as_whose_automation_names_a_secret_gets_use_secret():
    assert migration.needed_by(webhook_doc("s", "{{ secret('T') }}")) == {"send_webhook", "use_secret"}
    assert migration.needed_by(webhook_doc("s")) == {"send_webhook"}
