"""Writing one change to the log: its transition rows and its change-event row, in as few statements as
the database allows (one on PostgreSQL, through a data-modifying CTE; two elsewhere).

Hand-written INSERTs (automation.row_sql) rather than `bulk_create`/`create`: this is the hot path of
every tracked write, and the ORM's per-call machinery cost more CPU than the database did. Values are
still prepared by each field's own `get_db_prep_save`, so they are stored exactly as the ORM would.
"""

from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections

from ..models import ChangeEvent, Transition
from ..row_sql import insert_sql

TRANSITION_COLUMNS = ("kind", "entity_id", "field", "from_value", "to_value", "at", "actor", "change_id")
EVENT_COLUMNS = ("change_id", "kind", "entity_id", "prev", "next", "delta", "changed_fields", "actor", "depth",
                 "occurred_at")


@cache
def _fields(model, names):
    return [model._meta.get_field(name) for name in names]


def _params(model, names, values: dict, conn) -> list:
    return [field.get_db_prep_save(values[field.name], conn) for field in _fields(model, names)]


def write_change(event: dict, transitions: list[dict]) -> ChangeEvent:
    """Insert the event and its transitions; returns the event as an unsaved-looking instance with its id."""
    conn = connections[DEFAULT_DB_ALIAS]  # once: every proxy attribute lookup costs a thread-local read
    vendor = conn.vendor
    transition_sql = insert_sql(Transition, TRANSITION_COLUMNS, len(transitions))
    transition_params = [p for row in transitions for p in _params(Transition, TRANSITION_COLUMNS, row, conn)]
    event_sql = insert_sql(ChangeEvent, EVENT_COLUMNS, 1)
    event_params = _params(ChangeEvent, EVENT_COLUMNS, event, conn)
    id_column = conn.ops.quote_name(ChangeEvent._meta.pk.column)
    with conn.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(f"WITH t AS ({transition_sql}) {event_sql} RETURNING {id_column}",
                           transition_params + event_params)
            event_id = cursor.fetchone()[0]
        else:
            cursor.execute(transition_sql, transition_params)
            cursor.execute(event_sql, event_params)
            event_id = cursor.lastrowid
    instance = ChangeEvent(id=event_id, routed_at=None, **event)
    instance._state.adding = False
    return instance
