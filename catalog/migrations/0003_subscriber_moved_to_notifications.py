"""Subscriber moved to the notifications app: forget it here, in the state only (the tables stay).

Runs after notifications' 0002 took the model over (same tables) and pointed its foreign key at it.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0002_subscriber"),
        ("notifications", "0002_subscriber_moved_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Subscriber")],
            database_operations=[],
        ),
    ]
