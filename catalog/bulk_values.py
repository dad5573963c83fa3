"""Write per-row values to many rows at once: ``UPDATE ... FROM (VALUES ...)``.

Django's ``bulk_update`` builds a CASE expression per row and field in Python, which
costs minutes per million rows; one ``UPDATE ... FROM (VALUES ...)`` per chunk costs
only the database's time. Both PostgreSQL and SQLite (3.33+) accept this statement and
name the VALUES columns ``column1``, ``column2``, ...
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models

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
