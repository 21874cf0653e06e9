"""The change log's statements: write one change, count a routing attempt on an entity's head, lock an
entity's unrouted events.

Writing a change is the hot path of every tracked write, and the ORM's per-call machinery cost more CPU
than the database did. Values are still prepared by each field's own `get_db_prep_save`, so they are
stored exactly as the ORM would store them.
"""

import uuid
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections

from ..models import ChangeEvent, Transition
from .rows import insert_sql, lock_rows

TRANSITION_COLUMNS = ("kind", "entity_id", "field", "from_value", "to_value", "at", "actor", "change_id")
EVENT_COLUMNS = ("change_id", "kind", "entity_id", "prev", "next", "delta", "changed_fields", "actor", "depth",
                 "occurred_at")


@cache
def _fields(model, names):
    return [model._meta.get_field(name) for name in names]


def _params(model, names, values: dict, conn) -> list:
    return [field.get_db_prep_save(values[field.name], conn) for field in _fields(model, names)]


def write_change(event: dict, transitions: list[dict]) -> ChangeEvent:
    """Insert the event and its transitions, in one statement on PostgreSQL (a data-modifying CTE), two
    elsewhere; returns the event as an unsaved-looking instance with its id."""
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


def _change_id_value(change_id):
    """The change id as the database stores it; None when it is not a UUID."""
    try:
        return ChangeEvent._meta.get_field("change_id").get_db_prep_value(uuid.UUID(str(change_id)), connection)
    except ValueError:
        return None


# One statement per attempt: count it on the head of the entity of the given event, up to that event. The
# outer conditions are re-checked by PostgreSQL after waiting for a routing worker's lock on the row, so a
# head routed meanwhile is not counted (no row returned; the caller looks again). {async_commit}: see below.
#
# Its plan must not depend on the planner's statistics (issue 33: with statistics taken when every change was
# routed, the partial index change_unrouted looked empty, and the cached generic plan read it whole for every
# attempt: a backlog drained at 4.5/s). So the given event is read by its unique change_id in scalar
# subqueries (one-time InitPlans), and "neither routed nor parked" is written UNROUTED, the predicate of the
# partial index change_entity_unrouted (kind, entity_id, id; migration 0014) and not a form the planner can
# match to change_unrouted's. The entity's head is then the first entry of its range in that index: stale
# statistics make the index look small, which only makes it more attractive, and fresh ones show it exact.
# The counted row's own recheck is written STILL_UNROUTED, the same test in a form matching no partial index's
# predicate: a partial index that looks empty would otherwise be read whole to find one id (it was).
UNROUTED = "COALESCE({alias}routed_at, {alias}parked_at) IS NULL"
STILL_UNROUTED = "COALESCE(parked_at, routed_at) IS NULL"
ENTITY_RANGE = ("{alias}.kind = (SELECT kind FROM {table} WHERE change_id = %s) "
                "AND {alias}.entity_id = (SELECT entity_id FROM {table} WHERE change_id = %s) "
                "AND {alias}.id <= (SELECT id FROM {table} WHERE change_id = %s)")
HEAD_SQL = """
        SELECT h.id FROM {table} h WHERE {range} AND {unrouted}
        ORDER BY h.id LIMIT 1"""
COUNT_SQL = """
    UPDATE {table} SET routing_attempts = routing_attempts + 1,
                       first_attempted_at = COALESCE(first_attempted_at, %s)
    {async_commit}
    WHERE {still_unrouted} AND id = ({head})
    RETURNING id, change_id, routing_attempts, first_attempted_at
"""
# The count must survive a killed worker, not a database crash: it is a retry counter that only decides
# when to park, and losing one to a crash is harmless. So its commit does not wait for the WAL flush, which
# cost every routed change a sync: set_config(…, true) turns synchronous_commit off for this statement's
# own (autocommit) transaction only. The joined one-row subquery makes it run whenever a row is updated.
ASYNC_COMMIT = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"


def change_attempt_count(*, change_id, now) -> ChangeEvent | None:
    """Count one routing attempt on the head of this event's entity (its oldest unrouted, unparked event up
    to this one) and return the head as counted (id, change_id, routing_attempts after the count,
    first_attempted_at); None when no such head is left, or the change id is not one.

    Alone, the statement is its own transaction and commits without waiting for the WAL flush; inside a
    caller's transaction it commits with it, whose durability is not ours to lower.
    """
    value = _change_id_value(change_id)
    if value is None:
        return None
    async_commit = connection.vendor == "postgresql" and not connection.in_atomic_block
    sql = count_sql(async_commit=async_commit)
    attempted = ChangeEvent._meta.get_field("first_attempted_at")
    with connection.cursor() as cursor:
        cursor.execute(sql, [attempted.get_db_prep_value(now, connection)] + [value] * 3)
        row = cursor.fetchone()
    if row is None:
        return None
    change_id, first = (_read_back(name, raw) for name, raw in (("change_id", row[1]), ("first_attempted_at", row[3])))
    return ChangeEvent(pk=row[0], change_id=change_id, routing_attempts=row[2], first_attempted_at=first)


def _read_back(name: str, raw):
    """A value RETURNING gave, converted as the ORM converts what it reads."""
    field = ChangeEvent._meta.get_field(name)
    column = field.get_col(ChangeEvent._meta.db_table)
    for convert in connection.ops.get_db_converters(column) + field.get_db_converters(connection):
        raw = convert(raw, column, connection)
    return raw


def lock_unrouted_where(table: str) -> str:
    """changes_lock_unrouted_up_to's condition on `t` (the change id three times), in COUNT_SQL's form."""
    return f"{ENTITY_RANGE.format(alias='t', table=table)} AND {UNROUTED.format(alias='t.')}"


def count_sql(*, async_commit: bool) -> str:
    """change_attempt_count's statement (the time, then the change id three times)."""
    table = ChangeEvent._meta.db_table
    head = HEAD_SQL.format(table=table, range=ENTITY_RANGE.format(alias="h", table=table),
                           unrouted=UNROUTED.format(alias="h."))
    return COUNT_SQL.format(table=table, head=head, still_unrouted=STILL_UNROUTED,
                            async_commit=ASYNC_COMMIT if async_commit else "")


def changes_lock_unrouted_up_to(*, change_id) -> list[ChangeEvent]:
    """This event and the earlier unrouted, unparked events of its entity, oldest first, locked; [] if none.

    Blocks while another worker routes this entity; PostgreSQL then re-checks `routed_at`, so rows it
    routed meanwhile drop out. On SQLite the IMMEDIATE write lock serialises the same way. A parked event
    is passed over: the entity's later events route on without it.
    """
    value = _change_id_value(change_id)
    if value is None:
        return []
    where = lock_unrouted_where(ChangeEvent._meta.db_table)
    # NO KEY UPDATE: the trigger events and deliveries inserted for these rows reference them (FOR KEY SHARE).
    # By the entity's entries in change_entity_unrouted, whatever the statistics: see COUNT_SQL.
    return lock_rows(ChangeEvent, where, [value] * 3, order_by="t.id", no_key=True)
