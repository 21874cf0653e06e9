"""Routing's statements: the trigger index rows a batch of events may match, the automations that passed
locked together, and whether anything waits on a change."""

from django.db import connection

from ..models import Automation, AutomationTrigger, Dwell, Wait, WaitRead
from .rows import read_with_related


def trigger_rows_matching(*, events: list[str], keys: list[str]) -> list[AutomationTrigger]:
    """The enabled index rows of these events whose key is null or one of `keys` (by key or by field), each
    with its automation as read now, in (automation, id) order: one statement, no lock."""
    may_match = "t.index_key IS NULL"
    if keys:
        listed = ", ".join(["%s"] * len(keys))
        may_match += f" OR t.index_key IN ({listed}) OR t.index_field IN ({listed})"
    where = f"t.enabled AND t.event IN ({', '.join(['%s'] * len(events))}) AND ({may_match})"
    return read_with_related(AutomationTrigger, "automation", where, [*events, *keys, *keys],
                             order_by="t.automation_id, t.id")


def automations_lock(*, pks: list) -> list[Automation]:
    """Lock these automations in primary-key order, in one statement, and read them current with their
    run_as user.

    NO KEY UPDATE: the locks only serialise firing decisions; runs, steps and artifacts inserted meanwhile
    reference the automation (FOR KEY SHARE) and must neither wait on them nor be waited on.
    """
    ordered = sorted(pks)
    return read_with_related(Automation, "run_as", f"t.id IN ({', '.join(['%s'] * len(ordered))})",
                             [Automation._meta.pk.get_db_prep_value(pk, connection) for pk in ordered],
                             order_by="t.id", lock=True, no_key=True)


def waiting_on_flags(*, kind: str, entity_id: str, events: list[str]) -> tuple[bool, bool, bool]:
    """(a wait_until read this entity, a dwell is armed on it, an open wait_for_trigger is on one of these
    events): one statement."""
    checks = [(f"SELECT 1 FROM {WaitRead._meta.db_table} WHERE kind = %s AND entity_id = %s", [kind, entity_id]),
              (f"SELECT 1 FROM {Dwell._meta.db_table} WHERE context_key = %s", [entity_id])]
    if events:
        placeholders = ", ".join(["%s"] * len(events))
        checks.append((f"SELECT 1 FROM {Wait._meta.db_table} WHERE kind = %s AND outcome IS NULL "
                       f"AND event IN ({placeholders})", [Wait.Kind.TRIGGER.value, *events]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"EXISTS ({sql})" for sql, _ in checks),
                       [param for _, params in checks for param in params])
        flags = [bool(flag) for flag in cursor.fetchone()]
    return tuple(flags + [False] * (3 - len(flags)))
