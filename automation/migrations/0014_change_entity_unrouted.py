"""The index routing reads an entity's unrouted changes by (issue 33): only the rows neither routed nor parked,
so the head of an entity is its first entry, and a burst of changes cannot make the planner walk the rest.

Its predicate is written as routing's statements write it (automation/sql/changes.py, UNROUTED), an
expression Django's Index cannot state, hence raw SQL (valid on PostgreSQL and SQLite alike).
"""

from django.db import migrations

CREATE = ("CREATE INDEX change_entity_unrouted ON automation_changeevent (kind, entity_id, id) "
          "WHERE COALESCE(routed_at, parked_at) IS NULL")
DROP = "DROP INDEX change_entity_unrouted"


class Migration(migrations.Migration):
    dependencies = [("automation", "0013_run_stopped_by")]

    operations = [migrations.RunSQL(CREATE, DROP)]
