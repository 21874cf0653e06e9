"""Create the database cache's table, so the subscribe form's limits hold across web processes.

The default cache (settings.CACHES, no CACHE_URL) is a table in the database every process shares; migrate is
the one step every deployment already runs. With a Redis CACHE_URL this creates nothing.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_subscriber_unsubscribe_token")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
