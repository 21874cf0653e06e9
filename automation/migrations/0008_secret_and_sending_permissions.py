"""New permissions (use_secret, send_webhook, send_email), granted so that nothing that works today stops.

Granted to every user and group holding `automation.add_automation` or `automation.change_automation` (they
could save such automations before), and to the run_as of each automation whose document uses a secret,
a webhook or an email (its runs needed nothing more before). The document checks are textual on purpose:
a migration must not import today's validator, and granting to one user too many is the safe side here.
"""

import json

from django.db import migrations

NEW = {
    "use_secret": "Can make automations use secrets",
    "send_webhook": "Can make automations send webhooks",
    "send_email": "Can make automations send emails",
}
SAVERS = ("add_automation", "change_automation")


def _actions(value):
    """Every action id named in a document, nested steps included."""
    if isinstance(value, dict):
        if isinstance(value.get("action"), str):
            yield value["action"]
        for item in value.values():
            yield from _actions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _actions(item)


def needed_by(document) -> set[str]:
    actions = set(_actions(document.get("actions") if isinstance(document, dict) else None))
    needed = {"send_webhook"} if "automation.webhook" in actions else set()
    needed |= {"send_email"} if "automation.email" in actions else set()
    if "secret" in json.dumps(document):
        needed.add("use_secret")
    return needed


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model(*_user_model(apps))
    Automation = apps.get_model("automation", "Automation")
    # The permission rows are normally made after all migrations (post_migrate); make them now to grant them.
    content_type, _ = ContentType.objects.get_or_create(app_label="automation", model="secret")
    new = {codename: Permission.objects.get_or_create(content_type=content_type, codename=codename,
                                                      defaults={"name": name})[0]
           for codename, name in NEW.items()}
    savers = Permission.objects.filter(content_type__app_label="automation", codename__in=SAVERS)
    for group in Group.objects.filter(permissions__in=savers).distinct():
        group.permissions.add(*new.values())
    for user in User.objects.filter(user_permissions__in=savers).distinct():
        user.user_permissions.add(*new.values())
    for automation in Automation.objects.exclude(run_as=None).select_related("run_as"):
        needed = needed_by(automation.document)
        if needed:
            automation.run_as.user_permissions.add(*(new[codename] for codename in sorted(needed)))


def _user_model(apps):
    from django.conf import settings

    return settings.AUTH_USER_MODEL.split(".")


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0007_timer_retries"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="secret",
            options={"ordering": ["name"], "permissions": [
                ("use_secret", "Can make automations use secrets"),
                ("send_webhook", "Can make automations send webhooks"),
                ("send_email", "Can make automations send emails"),
            ]},
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
