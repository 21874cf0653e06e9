from django.db import migrations, models
from django.db.models import Q

# What the skipped runs written before this field said in their reason text, as why read it then: each
# existing skipped run gets the gate its reason names (frozen here: the live code no longer parses reasons).
_EXACT = {"automation loop": "loop guard", "a run is already active (mode single)": "mode",
          "queue is full (mode queued)": "mode", "max_runs reached (mode parallel)": "mode"}
_PREFIXES = (("filter", "filter"), ("window", "window"), ("dwell", "dwell"), ("conditions not met", "conditions"),
             ("error in filter", "filter"), ("error in window", "window"), ("error in dwell", "dwell"),
             ("error in conditions", "conditions"), ("error in mode", "mode"), ("error in loop guard", "loop guard"),
             ("error in routing", "routing"), ("no longer holds", "replay"))


def backfill(apps, schema_editor):
    Run = apps.get_model("automation", "Run")
    skipped = Run.objects.filter(status="skipped", stopped_by="")
    for reason, gate in _EXACT.items():
        skipped.filter(reason=reason).update(stopped_by=gate)
    for prefix, gate in _PREFIXES:
        skipped.filter(reason__startswith=prefix).update(stopped_by=gate)
    # Anything else why showed as the mode's.
    skipped.filter(~Q(reason=""), stopped_by="").update(stopped_by="mode")


class Migration(migrations.Migration):
    dependencies = [("automation", "0012_trigger_last_tick")]

    operations = [
        migrations.AddField(model_name="run", name="stopped_by",
                            field=models.CharField(blank=True, db_default="", default="", max_length=20)),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
