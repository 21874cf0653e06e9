"""Subscriber moved here from catalog: the state takes it over, the tables keep their names and rows.

No database operation: the model keeps `catalog_subscriber` and `catalog_subscriber_systems` as its tables.
The content type moves with the model (app_label catalog → notifications), so the permissions users and
groups hold on subscribers keep holding. catalog's 0003 then drops the old model from its state.
"""

import uuid

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

import notifications.models

MODEL = "subscriber"


def _move_content_type(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    old = ContentType.objects.filter(app_label=source, model=MODEL).first()
    if old is None:
        return  # a fresh database: post_migrate creates the content type under the new app
    new = ContentType.objects.filter(app_label=target, model=MODEL).first()
    if new is None:
        old.app_label = target
        old.save(update_fields=["app_label"])
        return
    # Both exist (post_migrate ran between the two apps' migrations): hand the grants over, keep one.
    for permission in Permission.objects.filter(content_type=old):
        moved = Permission.objects.filter(content_type=new, codename=permission.codename).first()
        if moved is None:
            permission.content_type = new
            permission.save(update_fields=["content_type"])
            continue
        for user in permission.user_set.all():
            user.user_permissions.add(moved)
        for group in permission.group_set.all():
            group.permissions.add(moved)
    old.delete()


def content_type_to_notifications(apps, schema_editor):
    _move_content_type(apps, "catalog", "notifications")


def content_type_to_catalog(apps, schema_editor):
    _move_content_type(apps, "notifications", "catalog")


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("catalog", "0002_subscriber"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Subscriber",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("email", models.EmailField(max_length=254, unique=True)),
                        ("confirmed", models.BooleanField(default=False)),
                        ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "token",
                            models.CharField(
                                default=notifications.models.new_subscriber_token,
                                editable=False,
                                max_length=64,
                                unique=True,
                            ),
                        ),
                        ("requested_system_ids", models.JSONField(blank=True, default=list)),
                        ("confirmation_requested_at", models.DateTimeField(blank=True, null=True)),
                        ("confirmation_sent_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "systems",
                            models.ManyToManyField(
                                blank=True,
                                db_table="catalog_subscriber_systems",
                                related_name="subscribers",
                                to="catalog.system",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "catalog_subscriber",
                        "ordering": ["email"],
                        "indexes": [
                            models.Index(
                                condition=models.Q(("confirmation_requested_at__isnull", False)),
                                fields=["confirmation_requested_at"],
                                name="subscriber_confirmation_owed",
                            )
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("email", django.db.models.functions.text.Lower("email"))),
                                name="subscriber_email_lowercase",
                            )
                        ],
                    },
                ),
                migrations.AlterField(
                    model_name="notificationsend",
                    name="subscriber",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notification_sends",
                        to="notifications.subscriber",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_notifications, content_type_to_catalog),
    ]
