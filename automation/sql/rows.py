"""The fence's mechanics: rows read and written on the hot paths without compiling a queryset each time.

Every tracked write locks its entity row and writes its change; routing a change locks its events, and
inserts its trigger events and runs; every step write locks its run. The ORM would rebuild and compile
the same statements on each call, which cost more CPU than the database did. Here the SQL is built once
per shape, values are prepared by each field's own `get_db_prep_save` and rows read are converted by the
fields' converters, so what is stored and read is exactly what the ORM would store and read.

Only the fence (automation/sql/) passes SQL fragments to `lock_rows`, `read_with_related` and
`insert_guarded`; code outside it calls the named operations, with values (automation/tests/test_sql_fence.py).
The writers here bypass `save()` and the model signals, so they write only FAST_WRITTEN's models, which a
test keeps free of both.
"""

from functools import cache

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections

from ..models import (
    ChangeEvent,
    DerivedTriggerEvent,
    Run,
    RunBranch,
    RunStep,
    Transition,
)
from .transactions import execute

# The models written here without save(): no custom save(), no signal receivers (test_sql_fence.py checks).
FAST_WRITTEN = frozenset({ChangeEvent, DerivedTriggerEvent, Run, RunBranch, RunStep, Transition})


def _fast_written(model) -> None:
    if model not in FAST_WRITTEN:
        raise TypeError(f"{model.__name__} is not written by the fence's fast writers (FAST_WRITTEN)")


def lock_row(model, pk, *, fields: tuple[str, ...] | None = None, no_key: bool = False):
    """The row of `model` with this primary key, locked until the transaction ends; None if none.

    `fields`: only these attributes are read (the others are deferred, as with `.only()`). `no_key`: lock
    FOR NO KEY UPDATE, for a row locked to serialise decisions and never deleted or re-keyed under it: rows
    inserted meanwhile that reference it (FOR KEY SHARE) do not wait on it, nor it on them.
    """
    pk_field = model._meta.pk
    try:
        value = pk_field.get_db_prep_value(pk_field.to_python(pk), connections[DEFAULT_DB_ALIAS])
    except ValidationError:
        return None
    rows = _read(model, fields, f"WHERE {_quote(model._meta.pk.column)} = %s", [value], no_key=no_key)
    return rows[0] if rows else None


def lock_rows(model, where: str, params: list, *, order_by: str, fields: tuple[str, ...] | None = None,
              no_key: bool = False) -> list:
    """The rows of `model` (aliased `t` in `where` and `order_by`) that match, locked, in that order
    (`fields`, `no_key`: as in lock_row)."""
    return _read(model, fields, f"WHERE {where} ORDER BY {order_by}", params, no_key=no_key)


def _lock_clause(conn, no_key: bool) -> str:
    if not conn.features.has_select_for_update:
        return ""
    return " FOR NO KEY UPDATE OF t" if no_key and conn.features.has_select_for_no_key_update else " FOR UPDATE OF t"


def _read(model, fields, tail: str, params: list, *, no_key: bool = False) -> list:
    conn = connections[DEFAULT_DB_ALIAS]  # once: every proxy attribute lookup costs a thread-local read
    select, attnames, converters = _reader(model, fields)
    with conn.cursor() as cursor:
        execute(cursor, f"SELECT {select} FROM {_quote(model._meta.db_table)} t {tail}{_lock_clause(conn, no_key)}",
                params)
        rows = cursor.fetchall()
    return [_instance(model, attnames, converters, row, conn) for row in rows]


def read_with_related(model, related: str, where: str, params: list, *, order_by: str, lock: bool = False,
                      no_key: bool = False) -> list:
    """The rows of `model` (aliased `t`) that match, each with the row its foreign key `related` points to
    (aliased `r`, None if none) read in the same statement and cached on it, as select_related() does.

    `lock`: lock the rows of `model` only (FOR UPDATE OF t; `no_key`: as in lock_row).
    """
    conn = connections[DEFAULT_DB_ALIAS]
    field = model._meta.get_field(related)
    target = field.related_model
    select, attnames, converters = _reader(model, None)
    r_select, r_attnames, r_converters = _reader(target, None, alias="r")
    sql = (f"SELECT {select}, {r_select} FROM {_quote(model._meta.db_table)} t "
           f"LEFT JOIN {_quote(target._meta.db_table)} r "
           f"ON r.{_quote(target._meta.pk.column)} = t.{_quote(field.column)} "
           f"WHERE {where} ORDER BY {order_by}{_lock_clause(conn, no_key) if lock else ''}")
    with conn.cursor() as cursor:
        execute(cursor, sql, params)
        rows = cursor.fetchall()
    out, width = [], len(attnames)
    pk_at = width + r_attnames.index(target._meta.pk.attname)  # NULL there: no related row
    for row in rows:
        instance = _instance(model, attnames, converters, row[:width], conn)
        other = None if row[pk_at] is None else _instance(target, r_attnames, r_converters, row[width:], conn)
        field.set_cached_value(instance, other)
        out.append(instance)
    return out


def _instance(model, attnames, converters, row, conn):
    values = []
    for raw, (column, field_converters) in zip(row, converters, strict=True):
        for convert in field_converters:
            raw = convert(raw, column, conn)
        values.append(raw)
    return model.from_db(DEFAULT_DB_ALIAS, attnames, values)


@cache
def _reader(model, fields: tuple[str, ...] | None, alias: str = "t"):
    """(the select list, attribute names, per-column converters) of `model` aliased `alias`, as the ORM
    reads it."""
    concrete = model._meta.concrete_fields
    if fields is not None:
        concrete = [f for f in concrete if f.name in fields or f.attname in fields or f.primary_key]
    table = model._meta.db_table
    select = ", ".join(f"{alias}.{_quote(f.column)}" for f in concrete)
    converters = []
    for field in concrete:
        column = field.get_col(table)
        converters.append((column, connection.ops.get_db_converters(column) + field.get_db_converters(connection)))
    return select, [f.attname for f in concrete], converters


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def insert_sql(model, names: tuple[str, ...], rows: int) -> str:
    """INSERT INTO the model's table, these fields' columns, `rows` rows of placeholders."""
    columns = ", ".join(_quote(model._meta.get_field(name).column) for name in names)
    one_row = "(" + ", ".join(["%s"] * len(names)) + ")"
    return f"INSERT INTO {_quote(model._meta.db_table)} ({columns}) VALUES {', '.join([one_row] * rows)}"


@cache
def _insert_fields(model) -> tuple:
    """The fields an INSERT writes: every concrete one but an auto-incremented primary key."""
    return tuple(f for f in model._meta.concrete_fields if not (f.primary_key and f.db_returning))


def insert_instances(instances: list, *, skip_conflicts: bool = False) -> list:
    """INSERT these unsaved instances of one model in one statement, as `save()` would write them.

    Auto-incremented ids are set from RETURNING. `skip_conflicts` (models with client-side keys only): a
    row that would break a unique constraint is not inserted (ON CONFLICT DO NOTHING). Returns the
    instances inserted.
    """
    if not instances:
        return []
    conn = connections[DEFAULT_DB_ALIAS]
    model = type(instances[0])
    _fast_written(model)
    pk = model._meta.pk
    # With skipped rows, returned auto ids could not be matched to their instances.
    assert not (skip_conflicts and pk.db_returning), "skip_conflicts needs client-side primary keys"
    fields = _insert_fields(model)
    sql = insert_sql(model, tuple(f.name for f in fields), len(instances))
    params = [f.get_db_prep_save(f.pre_save(obj, add=True), conn) for obj in instances for f in fields]
    conflicts = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    with conn.cursor() as cursor:
        cursor.execute(f"{sql}{conflicts} RETURNING {_quote(pk.column)}", params)
        returned = [row[0] for row in cursor.fetchall()]
    if pk.db_returning:
        for obj, value in zip(instances, returned, strict=True):
            obj.pk = value
        inserted = instances
    else:
        by_pk = {obj.pk: obj for obj in instances}
        inserted = [by_pk[pk.to_python(value)] for value in returned]
    for obj in inserted:
        obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS
    return inserted


@cache
def _update_sql(model, names: tuple[str, ...]) -> tuple[str, tuple]:
    """UPDATE of these fields of one row by primary key, and the fields in placeholder order."""
    fields = tuple(model._meta.get_field(name) for name in names)
    assignments = ", ".join(f"{_quote(f.column)} = %s" for f in fields)
    return (f"UPDATE {_quote(model._meta.db_table)} SET {assignments} WHERE {_quote(model._meta.pk.column)} = %s",
            fields)


def update_instance(obj, fields: list[str] | tuple[str, ...]) -> None:
    """Write these fields of a saved instance, as `save(update_fields=fields)` would store them, in one
    precompiled UPDATE (no signals: only for models that have none, on paths that lock the row first)."""
    sql, params = update_sql_params(obj, fields)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)


def update_sql_params(obj, fields: list[str] | tuple[str, ...]) -> tuple[str, list]:
    """update_instance's statement (`UPDATE … WHERE <pk> = %s`, without RETURNING) and its parameters."""
    conn = connections[DEFAULT_DB_ALIAS]
    _fast_written(type(obj))
    sql, model_fields = _update_sql(type(obj), tuple(fields))
    params = [f.get_db_prep_save(f.pre_save(obj, add=False), conn) for f in model_fields]
    params.append(obj._meta.pk.get_db_prep_value(obj.pk, conn))
    return sql, params


def insert_guarded(obj, guard: str, params: list) -> bool:
    """INSERT one unsaved instance, as `save()` would write it, only if the SELECT `guard` (which may lock,
    and whose columns are not used) returns a row: one statement, so out of a transaction it is its own.
    True if inserted (auto-incremented id set from RETURNING)."""
    conn = connections[DEFAULT_DB_ALIAS]
    model = type(obj)
    _fast_written(model)
    fields = _insert_fields(model)
    columns = ", ".join(_quote(f.column) for f in fields)
    values = [f.get_db_prep_save(f.pre_save(obj, add=True), conn) for f in fields]
    pk = model._meta.pk
    with conn.cursor() as cursor:
        cursor.execute(f"WITH guard AS ({guard}) INSERT INTO {_quote(model._meta.db_table)} ({columns}) "
                       f"SELECT {', '.join(['%s'] * len(fields))} FROM guard RETURNING {_quote(pk.column)}",
                       [*params, *values])
        row = cursor.fetchone()
    if row is None:
        return False
    if pk.db_returning:
        obj.pk = row[0]
    obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS
    return True
