"""Who wrote each health row; existing rows take their system's current health source."""

from django.db import migrations, models


def seed_source(apps, schema_editor):
    # The best guess for rows written before the column: a system managed by checks had its health written by
    # them. Guessing `checks` keeps its probe errors off the public page.
    SystemHealth = apps.get_model("catalog", "SystemHealth")
    SystemHealth.objects.filter(system__health_source="checks").update(source="checks")


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0006_dependency_graph_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='systemhealth',
            name='source',
            field=models.CharField(choices=[('reported', 'Reported'), ('checks', 'Checks')], default='reported', max_length=20),
        ),
        migrations.RunPython(seed_source, migrations.RunPython.noop),
    ]
