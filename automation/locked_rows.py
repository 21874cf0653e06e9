"""Read one row by primary key under a row lock, without compiling a queryset each time.

The hot paths lock one row per write (the entity of every tracked write, the run of every step write);
the ORM would rebuild and compile the same SELECT on each call. The SQL and the column converters are
built once per (model, fields) and the row comes back as the model instance the ORM would have made.
"""

from functools import cache

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections


def lock_row(model, pk, *, fields: tuple[str, ...] | None = None):
    """The row of `model` with this primary key, locked until the transaction ends; None if none.

    `fields`: only these attributes are read (the others are deferred, as with `.only()`).
    """
    conn = connections[DEFAULT_DB_ALIAS]  # once: every proxy attribute lookup costs a thread-local read
    pk_field = model._meta.pk
    try:
        value = pk_field.get_db_prep_value(pk_field.to_python(pk), conn)
    except ValidationError:
        return None
    sql, attnames, converters = _row_reader(model, fields)
    with conn.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for raw, (column, field_converters) in zip(row, converters):
        for convert in field_converters:
            raw = convert(raw, column, conn)
        values.append(raw)
    return model.from_db(DEFAULT_DB_ALIAS, attnames, values)


@cache
def _row_reader(model, fields: tuple[str, ...] | None):
    """(locking SELECT, attribute names, per-column converters) for `model`, as the ORM would read it."""
    quote = connection.ops.quote_name
    concrete = model._meta.concrete_fields
    if fields is not None:
        concrete = [f for f in concrete if f.name in fields or f.attname in fields or f.primary_key]
    table = model._meta.db_table
    columns = ", ".join(f"{quote(table)}.{quote(f.column)}" for f in concrete)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT {columns} FROM {quote(table)} WHERE {quote(model._meta.pk.column)} = %s{lock}"
    converters = []
    for field in concrete:
        column = field.get_col(table)
        converters.append((column, connection.ops.get_db_converters(column) + field.get_db_converters(connection)))
    return sql, [f.attname for f in concrete], converters
