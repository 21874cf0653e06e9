"""The last decided tick of each schedule trigger, seeded from the newest run each one recorded."""

from datetime import datetime

from django.db import migrations, models

SCHEDULE_EVENTS = ("automation.cron", "automation.interval")


def seed_last_tick(apps, schema_editor):
    # Without a seed, the first beat after the upgrade would judge again the tick each schedule decided last.
    AutomationTrigger = apps.get_model("automation", "AutomationTrigger")
    Run = apps.get_model("automation", "Run")
    for row in AutomationTrigger.objects.filter(event__in=SCHEDULE_EVENTS):
        key = (Run.objects.filter(automation_id=row.automation_id, trigger_id=row.trigger_id,
                                  firing_key__startswith="tick:")
               .order_by("-firing_key").values_list("firing_key", flat=True).first())
        if key is not None:
            row.last_tick = datetime.fromisoformat(key.removeprefix("tick:"))
            row.save(update_fields=["last_tick"])


class Migration(migrations.Migration):

    dependencies = [
        ('automation', '0011_retention_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='automationtrigger',
            name='last_tick',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(seed_last_tick, migrations.RunPython.noop),
    ]
