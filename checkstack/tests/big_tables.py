"""History as years of it look, built fast with raw SQL, for tests of what queries cost at size (PostgreSQL)."""

from django.db import connection

BIG_TABLES = ("automation_changeevent", "automation_run", "automation_timer", "automation_subscriptiondelivery",
              "automation_runstep", "automation_wait", "automation_transition")


def fill(n: int, automation_id) -> None:
    """Up to `n` rows per table, as years of history look: almost all routed, ended, fired and delivered.

    Raw SQL: the change log refuses bulk writes through the ORM, and 100,000 saves would take minutes.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO automation_changeevent (change_id, kind, entity_id, delta, changed_fields, actor, depth,
                                                occurred_at, routed_at)
            SELECT gen_random_uuid(), 'system', (i % 500)::text, '{{}}', '[]', 'user:test', 0,
                   now() - i * interval '1 minute', CASE WHEN i % 20000 = 7 THEN NULL ELSE now() END
            FROM generate_series(1, {n}) AS i""")
        cursor.execute(f"""
            INSERT INTO automation_subscriptiondelivery (subscriber, change_id, created_at, delivered_at, attempts,
                                                         last_error)
            SELECT 'x', id, occurred_at, CASE WHEN id % 20000 = 3 THEN NULL ELSE occurred_at END, 1, ''
            FROM automation_changeevent ORDER BY id DESC LIMIT {n}""")
        cursor.execute(f"""
            INSERT INTO automation_run (id, automation_id, automation_version, document, trigger_id, event, payload,
                                        actor, run_as, bucket, depth, status, error, reason, created_at, finished_at,
                                        lease_owner, fencing_token, attempts)
            SELECT gen_random_uuid(), %s, 1, '{{}}', 't', 'e', '{{}}', 'user:test', '', 'b', 0,
                   (ARRAY['succeeded', 'failed', 'skipped', 'cancelled'])[i %% 4 + 1], '', '',
                   now() - i * interval '1 minute', now() - i * interval '1 minute', '', 0, 0
            FROM generate_series(1, {n}) AS i""", [automation_id])
        cursor.execute(f"""
            INSERT INTO automation_timer (due_at, kind, owner, fired_at, attempts, last_error, created_at)
            SELECT now() - i * interval '1 minute', 'resume', i::text,
                   CASE WHEN i % 20000 = 5 THEN NULL ELSE now() END, 0, '', now()
            FROM generate_series(1, {n}) AS i""")
        cursor.execute("""
            INSERT INTO automation_runstep (run_id, path, iteration, step_id, kind, status, attempts, result, error)
            SELECT id, 'actions.0', '', '', 'action', 'succeeded', 1, '{}', ''
            FROM automation_run r WHERE NOT EXISTS (SELECT 1 FROM automation_runstep s WHERE s.run_id = r.id)""")
        cursor.execute("""
            INSERT INTO automation_wait (run_id, path, iteration, kind, event, mark, outcome, created_at)
            SELECT id, 'actions.0', '', 'delay', '', 0, '{"completed": true}', created_at
            FROM automation_run r WHERE NOT EXISTS (SELECT 1 FROM automation_wait w WHERE w.run_id = r.id)""")
        cursor.execute(f"""
            INSERT INTO automation_transition (kind, entity_id, field, to_value, at, actor, change_id)
            SELECT 'system', (i % 500)::text, 'status', '"x"', now() - i * interval '1 minute', 'user:test',
                   gen_random_uuid()
            FROM generate_series(1, {n}) AS i""")
        for table in BIG_TABLES:
            cursor.execute(f"ANALYZE {table}")
