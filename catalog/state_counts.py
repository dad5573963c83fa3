"""The triggers that keep ``VariantStateCount`` current, and the schedule's fold and proof.

PostgreSQL: one statement-level trigger per operation with transition tables, so a
``bulk_update`` of 1,000 variants adds one grouped delta per state it touched, not 1,000
row updates. Each backend adds to its own ``slot`` (its pid), so concurrent transactions
never contend for a counter row; ``fold()`` moves those rows into slot 0, skipping rows a
transaction in progress still holds. SQLite has one writer at a time and no transition
tables: row triggers add to slot 0 directly, and only when a counted column changed.
Variants in no catalog are counted under catalog 0 (the admin's totals need them).

``reconcile()`` proves the counts: one statement (one snapshot) compares them with a
``COUNT`` of the variants, and any difference — from a ``TRUNCATE``, triggers disabled
by hand, a restore — is logged and corrected in slot 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db import connection as default_connection

from galantis import slotted_counts

logger = logging.getLogger(__name__)

TABLE = "catalog_variantstatecount"
KEY = "tenant_id, catalog_id, meta_status, excluded, verdict"
# A variant's key as the count rows hold it (0: in no catalog; a unique key treats NULLs as distinct).
VARIANT_KEY = "tenant_id, COALESCE(catalog_id, 0) AS catalog_id, meta_status, excluded, verdict"
_CONFLICT = slotted_counts.conflict_clause(TABLE, KEY)

POSTGRESQL_INSTALL = [
    f"""
CREATE OR REPLACE FUNCTION catalog_variant_state_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {TABLE} ({KEY}, slot, n)
        SELECT {KEY}, pg_backend_pid(), count(*) FROM (SELECT {VARIANT_KEY} FROM variant_new_rows) AS rows
        GROUP BY {KEY} ORDER BY {KEY}
        {_CONFLICT};
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {TABLE} ({KEY}, slot, n)
        SELECT {KEY}, pg_backend_pid(), -count(*) FROM (SELECT {VARIANT_KEY} FROM variant_old_rows) AS rows
        GROUP BY {KEY} ORDER BY {KEY}
        {_CONFLICT};
    ELSE
        INSERT INTO {TABLE} ({KEY}, slot, n)
        SELECT {KEY}, pg_backend_pid(), sum(d) FROM (
            SELECT {VARIANT_KEY}, 1 AS d FROM variant_new_rows
            UNION ALL
            SELECT {VARIANT_KEY}, -1 AS d FROM variant_old_rows
        ) AS changes
        GROUP BY {KEY} HAVING sum(d) <> 0 ORDER BY {KEY}
        {_CONFLICT};
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER catalog_variant_state_insert AFTER INSERT ON catalog_variant
       REFERENCING NEW TABLE AS variant_new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_variant_state_delta()""",
    """CREATE TRIGGER catalog_variant_state_update AFTER UPDATE ON catalog_variant
       REFERENCING OLD TABLE AS variant_old_rows NEW TABLE AS variant_new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION catalog_variant_state_delta()""",
    """CREATE TRIGGER catalog_variant_state_delete AFTER DELETE ON catalog_variant
       REFERENCING OLD TABLE AS variant_old_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_variant_state_delta()""",
]
POSTGRESQL_UNINSTALL = [
    "DROP TRIGGER IF EXISTS catalog_variant_state_insert ON catalog_variant",
    "DROP TRIGGER IF EXISTS catalog_variant_state_update ON catalog_variant",
    "DROP TRIGGER IF EXISTS catalog_variant_state_delete ON catalog_variant",
    "DROP FUNCTION IF EXISTS catalog_variant_state_delta()",
]


def _sqlite_add(row: str, sign: str) -> str:
    # "WHERE" keeps SQLite from reading ON CONFLICT as a join constraint (its upsert docs).
    return (
        f"INSERT INTO {TABLE} ({KEY}, slot, n) "
        f"SELECT {row}.tenant_id, COALESCE({row}.catalog_id, 0), {row}.meta_status, {row}.excluded, {row}.verdict, "
        f"0, {sign}1 WHERE true {_CONFLICT};"
    )


_CHANGED = (
    "OLD.tenant_id IS NOT NEW.tenant_id OR OLD.catalog_id IS NOT NEW.catalog_id "
    "OR OLD.meta_status IS NOT NEW.meta_status OR OLD.excluded IS NOT NEW.excluded OR OLD.verdict IS NOT NEW.verdict"
)
SQLITE_INSTALL = [
    f"""CREATE TRIGGER catalog_variant_state_insert AFTER INSERT ON catalog_variant
        BEGIN {_sqlite_add("NEW", "")} END""",
    f"""CREATE TRIGGER catalog_variant_state_update
        AFTER UPDATE OF tenant_id, catalog_id, meta_status, excluded, verdict ON catalog_variant WHEN {_CHANGED}
        BEGIN {_sqlite_add("OLD", "-")} {_sqlite_add("NEW", "")} END""",
    f"""CREATE TRIGGER catalog_variant_state_delete AFTER DELETE ON catalog_variant
        BEGIN {_sqlite_add("OLD", "-")} END""",
]
SQLITE_UNINSTALL = slotted_counts.sqlite_row_trigger_drops("catalog_variant_state")


TRIGGERS = slotted_counts.Triggers(
    "state-count", POSTGRESQL_INSTALL, POSTGRESQL_UNINSTALL, SQLITE_INSTALL, SQLITE_UNINSTALL
)
# The migration's forward and reverse: create the triggers (after dropping any older version), drop them.
install_triggers = TRIGGERS.install
uninstall_triggers = TRIGGERS.uninstall


def fold(connection=default_connection) -> int:
    """Move every backend's rows into slot 0 and drop zero rows; the number of rows folded."""
    with transaction.atomic(using=connection.alias):
        moved = slotted_counts.fold(connection, TABLE, KEY)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE slot = 0 AND n = 0")
    return moved


@dataclass(frozen=True)
class Difference:
    """One state whose maintained count was not the variants' ``COUNT``."""

    tenant_id: int
    catalog_id: int
    meta_status: str
    excluded: bool
    verdict: str
    counted: int
    maintained: int


def differences(connection=default_connection) -> list[Difference]:
    """States whose maintained count differs from a ``COUNT``, both read in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT COALESCE(v.tenant_id, c.tenant_id), COALESCE(v.catalog_id, c.catalog_id),
                   COALESCE(v.meta_status, c.meta_status), COALESCE(v.excluded, c.excluded),
                   COALESCE(v.verdict, c.verdict), COALESCE(v.n, 0), COALESCE(c.n, 0)
            FROM (
                SELECT {KEY}, count(*) AS n FROM (SELECT {VARIANT_KEY} FROM catalog_variant) AS rows GROUP BY {KEY}
            ) AS v
            FULL OUTER JOIN (
                SELECT {KEY}, sum(n) AS n FROM {TABLE} GROUP BY {KEY}
            ) AS c
            ON v.tenant_id = c.tenant_id AND v.catalog_id = c.catalog_id AND v.meta_status = c.meta_status
               AND v.excluded = c.excluded AND v.verdict = c.verdict
            WHERE COALESCE(v.n, 0) <> COALESCE(c.n, 0)
            """
        )
        return [
            Difference(row[0], row[1], row[2], bool(row[3]), row[4], int(row[5]), int(row[6]))
            for row in cursor.fetchall()
        ]


def reconcile(connection=default_connection) -> list[Difference]:
    """Fold, then prove the counts equal to a ``COUNT``; correct and log any difference.

    A correction measured in one snapshot stays right when applied later: every change
    after it moved both sides by the same amount.
    """
    fold(connection)
    found = differences(connection)
    if not found:
        return []
    for d in found:
        logger.warning(
            "State counts corrected: tenant %s catalog %s %s excluded=%s verdict=%r maintained %s, counted %s",
            d.tenant_id,
            d.catalog_id,
            d.meta_status,
            d.excluded,
            d.verdict,
            d.maintained,
            d.counted,
        )
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for d in sorted(found, key=lambda d: (d.tenant_id, d.catalog_id, d.meta_status, d.excluded, d.verdict)):
            cursor.execute(
                f"INSERT INTO {TABLE} ({KEY}, slot, n) VALUES (%s, %s, %s, %s, %s, 0, %s) {_CONFLICT}",
                [d.tenant_id, d.catalog_id, d.meta_status, d.excluded, d.verdict, d.counted - d.maintained],
            )
        cursor.execute(f"DELETE FROM {TABLE} WHERE slot = 0 AND n = 0")
    return found


def prove_after_migrate(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """``post_migrate`` receiver: (re)install the triggers, then reconcile the counts.

    SQLite rebuilds a table to alter it (a new column on the variants, say), and the
    rebuild drops its triggers; reinstalling after every migrate keeps them. The
    reconcile then proves the counts after a deploy, a restore or a ``flush`` (SQLite's
    deletes the count rows before the variants, whose triggers then write negative counts).
    """
    connection = connections[using]
    if "catalog_variantstatecount" not in connection.introspection.table_names():
        return  # migrated backwards past the counts
    install_triggers(connection)
    reconcile(connection)
