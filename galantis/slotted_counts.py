"""Counters the database keeps by triggers, one row per key and writer (``slot``).

Used by the variant state counts (``catalog.state_counts``) and the item-issue versions
(``diagnostics.problem_memo``). On PostgreSQL each backend adds to its own rows (``slot``
is its pid), so concurrent writers never wait for one counter row; ``fold`` moves those
rows into slot 0 and keeps every sum. SQLite has one writer at a time and writes slot 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection as default_connection
from django.db import transaction


def conflict_clause(table: str, key: str) -> str:
    """``ON CONFLICT`` that adds an incoming ``n`` to the row of the same key and slot."""
    return f"ON CONFLICT ({key}, slot) DO UPDATE SET n = {table}.n + EXCLUDED.n"


def sqlite_row_trigger_drops(prefix: str) -> list[str]:
    """Drop SQLite's three row triggers of a counter, ``<prefix>_insert`` / ``_update`` / ``_delete``."""
    return [f"DROP TRIGGER IF EXISTS {prefix}_{event}" for event in ("insert", "update", "delete")]


@dataclass(frozen=True)
class Triggers:
    """A set of triggers per database vendor, installed idempotently (dropped first)."""

    what: str  # for the error on an unsupported database
    postgresql_install: list[str]
    postgresql_uninstall: list[str]
    sqlite_install: list[str]
    sqlite_uninstall: list[str]

    def _statements(self, vendor: str, *, install: bool) -> list[str]:
        if vendor == "postgresql":
            return self.postgresql_install if install else self.postgresql_uninstall
        if vendor == "sqlite":
            return self.sqlite_install if install else self.sqlite_uninstall
        raise NotImplementedError(f"No {self.what} triggers for {vendor}: PostgreSQL and SQLite are supported.")

    def install(self, connection=default_connection) -> None:
        """Create the triggers (after dropping any older version of them)."""
        with connection.cursor() as cursor:
            for sql in self._statements(connection.vendor, install=False) + self._statements(
                connection.vendor, install=True
            ):
                cursor.execute(sql)

    def uninstall(self, connection=default_connection) -> None:
        """Drop the triggers (a migration's reverse)."""
        with connection.cursor() as cursor:
            for sql in self._statements(connection.vendor, install=False):
                cursor.execute(sql)


def fold(connection, table: str, key: str) -> int:
    """Move every backend's rows of ``table`` into slot 0 (sums kept); the number of rows moved.

    PostgreSQL only (elsewhere every row is slot 0 already: 0). Rows locked by a
    transaction still in progress are left for the next fold: waiting for them would
    hold the slot-0 rows of every other key meanwhile.
    """
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH moved AS (
                DELETE FROM {table} WHERE id IN (
                    SELECT id FROM {table} WHERE slot <> 0 ORDER BY id FOR UPDATE SKIP LOCKED
                ) RETURNING {key}, n
            ), folded AS (
                INSERT INTO {table} ({key}, slot, n)
                SELECT {key}, 0, sum(n) FROM moved GROUP BY {key} ORDER BY {key}
                {conflict_clause(table, key)}
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM moved)
            """
        )
        return cursor.fetchone()[0]
