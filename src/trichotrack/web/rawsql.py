"""Hand-written SQL for the queries that every request makes: the session, the user with their membership
and clinic, the second-factor device (clinics.sessions, clinics.backends, clinics.middleware), and the
audit event of every patient page (trichotrack.web.audit).

Django's ORM spends most of a simple query's CPU building and compiling it, not in the database: loading a
session by its key took about 300 µs here, of which 20 µs for the SQL itself; the user and the membership
(with its clinic) about 950 µs together; the INSERT of an audit event about 0.7 ms. Written out, each costs
a tenth of that.

The column lists come from each model's ``_meta`` (a new field is read and written without a change here),
and every value goes through the converters and preparation the ORM applies (aware datetimes, booleans on
SQLite, JSON), so the rows and instances are the ones the ORM would write and build.
"""

import weakref

from django.db import connections, transaction
from django.db.models.expressions import Col

# connection → {(model, alias): what _fields returns}
_CONVERTERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def columns(model, alias: str, connection) -> str:
    """``"alias"."column", …`` for every concrete field of `model`, in ``_meta`` order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{quote(alias)}.{quote(f.column)}" for f in model._meta.concrete_fields)


def _fields(model, alias: str, connection):
    """([(converters, column expression) of each concrete field], [attnames], index of the primary key)."""
    per_connection = _CONVERTERS.setdefault(connections[connection.alias], {})  # not db.connection's proxy
    key = (model, alias)
    if key not in per_connection:
        fields, converters = model._meta.concrete_fields, []
        for field in fields:
            col = Col(alias, field)
            backend = connection.ops.get_db_converters(col)
            converters.append((backend + col.get_db_converters(connection), col))
        pk_index = next(i for i, f in enumerate(fields) if f.primary_key)
        per_connection[key] = (converters, [f.attname for f in fields], pk_index)
    return per_connection[key]


def build(model, alias: str, connection, values):
    """The `model` instance of one row's `values` (in the order of ``columns(model, alias)``), or None when
    its primary key is NULL (no row on that side of a LEFT JOIN)."""
    converters, attnames, pk_index = _fields(model, alias, connection)
    if values[pk_index] is None:
        return None
    row = list(values)
    for i, (field_converters, col) in enumerate(converters):
        value = row[i]
        for converter in field_converters:
            value = converter(value, col, connection)
        row[i] = value
    return model.from_db(connection.alias, attnames, row)


def get(model, pk, connection):
    """The `model` row with primary key `pk`, or None: ``model.objects.filter(pk=pk).first()`` without the
    ORM's query building."""
    meta, quote = model._meta, connection.ops.quote_name
    sql = (
        f"SELECT {columns(model, 't', connection)} FROM {quote(meta.db_table)} t "
        f"WHERE t.{quote(meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    return None if row is None else build(model, "t", connection, row)


def insert(obj, connection) -> None:
    """INSERT the new object `obj` as one statement and set its primary key, as ``obj.save()`` does for a new
    row of a model without parents (auto_now_add and defaults included, values prepared by each field), but
    without the ORM's query building and without the save signals."""
    meta, quote = obj._meta, connection.ops.quote_name
    fields = [f for f in meta.local_concrete_fields if not (f.primary_key and f.db_returning)]
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    returning = connection.features.can_return_columns_from_insert
    # As Model.save(): a failed INSERT inside atomic() marks the transaction for rollback.
    with transaction.mark_for_rollback_on_error(connection.alias), connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {pk}" if returning else sql, values)
        if returning:
            pk_value = cursor.fetchone()[0]
        else:
            pk_value = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    setattr(obj, meta.pk.attname, pk_value)
    obj._state.adding, obj._state.db = False, connection.alias
