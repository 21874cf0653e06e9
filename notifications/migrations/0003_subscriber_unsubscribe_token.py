"""Separate the unsubscribe link's secret from the confirm link's.

Links already mailed carry the old single token, so each row keeps it for the link that can still matter:
- a confirmation pending: the old token stays the confirm token (the emailed confirm link keeps working),
  and the unsubscribe token is fresh;
- nothing pending: the old token becomes the unsubscribe token (the links in notifications already sent keep
  unsubscribing), and the confirm token is fresh (the old one confirms nothing more).
Either way each row gets one fresh random value and no token serves both links afterwards.
"""

from django.db import migrations, models

import notifications.models


def split_tokens(apps, schema_editor):
    Subscriber = apps.get_model("notifications", "Subscriber")
    for subscriber in Subscriber.objects.only("pk", "token", "confirmation_requested_at").iterator():
        fresh = notifications.models.new_subscriber_token()
        if subscriber.confirmation_requested_at is not None:
            subscriber.unsubscribe_token = fresh
        else:
            subscriber.unsubscribe_token, subscriber.token = subscriber.token, fresh
        subscriber.save(update_fields=["token", "unsubscribe_token"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_subscriber_moved_here")]

    operations = [
        migrations.AddField(
            model_name="subscriber",
            name="unsubscribe_token",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.RunPython(split_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="subscriber",
            name="unsubscribe_token",
            field=models.CharField(
                default=notifications.models.new_subscriber_token, editable=False, max_length=64, unique=True
            ),
        ),
    ]
