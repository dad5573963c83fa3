"""Statements about many rows named by their keys, without Django's per-value work in Python.

Writing per-row values: Django's ``bulk_update`` builds a CASE expression per row and
field in Python, which costs minutes per million rows; one ``UPDATE ... FROM (VALUES
...)`` per chunk costs only the database's time. Both PostgreSQL and SQLite (3.33+)
accept this statement and name the VALUES columns ``column1``, ``column2``, ...

Filtering on thousands of keys: ``pk__in`` prepares every value through the field
(a sixth of a push batch's claim); on PostgreSQL one array parameter does it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from django.db import connection, models
from django.db.models.expressions import RawSQL

from galantis.chunks import in_chunks

# Rows per statement: keeps the parameter count (rows x columns) under SQLite's 32,766.
CHUNK = 1000


def update_by_pk(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]) -> int:
    """Set ``columns`` of ``model`` rows from ``rows`` = ``[(pk, value, ...), ...]``; return rows given."""
    if not rows:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    db_columns = [quote(model._meta.get_field(name).column) for name in columns]
    assignments = ", ".join(f"{column} = v.column{n}" for n, column in enumerate(db_columns, start=2))
    placeholder = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            values = ", ".join([placeholder] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v WHERE {table}.{pk} = v.column1",
                [value for row in chunk for value in row],
            )
    return len(rows)


def column_in(model: type[models.Model], field_name: str, values: Collection[int]) -> models.Q:
    """A filter on ``model`` rows whose integer ``field_name`` is one of ``values``.

    PostgreSQL: ``column = ANY(%s)`` with the values as one array parameter; elsewhere ``__in``.
    """
    if connection.vendor != "postgresql":
        return models.Q(**{f"{field_name}__in": values})
    quote = connection.ops.quote_name
    column = f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(field_name).column)}"
    return models.Q(RawSQL(f"{column} = ANY(%s)", (list(values),), output_field=models.BooleanField()))


def pk_in(model: type[models.Model], ids: Collection[int]) -> models.Q:
    """A filter on ``model`` rows whose integer pk is one of ``ids`` (see :func:`column_in`)."""
    return column_in(model, model._meta.pk.name, ids)


def key_chunks(values: Sequence[int], size: int) -> Iterator[list[int]]:
    """``values`` in pieces for :func:`column_in`: all at once on PostgreSQL (an array is one
    parameter), ``size`` at a time elsewhere (SQLite's limit on parameters)."""
    return in_chunks(values, max(len(values), 1) if connection.vendor == "postgresql" else size)
