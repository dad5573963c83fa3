"""The health page's problem counts, computed once per change of the issues, not per request.

A problem counts distinct *variants* (``problems``), which a running counter cannot keep
exactly (a variant reported by two sources is one variant). Instead the database keeps
a version per catalog of its item issues: triggers on ``diagnostics_itemissue`` add one
per statement that inserted, updated or deleted a catalog's issues (cascades included),
in that statement. ``memoised()`` stores a computed result with the versions it was
computed at (``ProblemMemo``) and serves it while they hold. Both live in the database,
so every web process shares them, and a rolled-back write or a restore rolls back the
version with the data it describes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db import connection as default_connection
from django.db.models import Sum

from galantis import slotted_counts

from .models import ItemIssueVersion, ProblemMemo

TABLE = "diagnostics_itemissueversion"
_CONFLICT = slotted_counts.conflict_clause(TABLE, "catalog_id")

POSTGRESQL_INSTALL = [
    f"""
CREATE OR REPLACE FUNCTION diagnostics_itemissue_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {TABLE} (catalog_id, slot, n)
        SELECT DISTINCT catalog_id, pg_backend_pid(), 1 FROM issue_new_rows ORDER BY 1 {_CONFLICT};
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {TABLE} (catalog_id, slot, n)
        SELECT DISTINCT catalog_id, pg_backend_pid(), 1 FROM issue_old_rows ORDER BY 1 {_CONFLICT};
    ELSE
        INSERT INTO {TABLE} (catalog_id, slot, n)
        SELECT catalog_id, pg_backend_pid(), 1 FROM (
            SELECT catalog_id FROM issue_new_rows UNION SELECT catalog_id FROM issue_old_rows
        ) AS changed ORDER BY 1 {_CONFLICT};
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER diagnostics_itemissue_version_insert AFTER INSERT ON diagnostics_itemissue
       REFERENCING NEW TABLE AS issue_new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION diagnostics_itemissue_version_bump()""",
    """CREATE TRIGGER diagnostics_itemissue_version_update AFTER UPDATE ON diagnostics_itemissue
       REFERENCING OLD TABLE AS issue_old_rows NEW TABLE AS issue_new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION diagnostics_itemissue_version_bump()""",
    """CREATE TRIGGER diagnostics_itemissue_version_delete AFTER DELETE ON diagnostics_itemissue
       REFERENCING OLD TABLE AS issue_old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION diagnostics_itemissue_version_bump()""",
]
POSTGRESQL_UNINSTALL = [
    "DROP TRIGGER IF EXISTS diagnostics_itemissue_version_insert ON diagnostics_itemissue",
    "DROP TRIGGER IF EXISTS diagnostics_itemissue_version_update ON diagnostics_itemissue",
    "DROP TRIGGER IF EXISTS diagnostics_itemissue_version_delete ON diagnostics_itemissue",
    "DROP FUNCTION IF EXISTS diagnostics_itemissue_version_bump()",
]


def _sqlite_bump(row: str) -> str:
    return f"INSERT INTO {TABLE} (catalog_id, slot, n) SELECT {row}.catalog_id, 0, 1 WHERE true {_CONFLICT};"


# SQLite has row triggers only: a version then grows by one per row, which serves as well.
SQLITE_INSTALL = [
    f"CREATE TRIGGER diagnostics_itemissue_version_insert AFTER INSERT ON diagnostics_itemissue "
    f"BEGIN {_sqlite_bump('NEW')} END",
    f"CREATE TRIGGER diagnostics_itemissue_version_update AFTER UPDATE ON diagnostics_itemissue "
    f"BEGIN {_sqlite_bump('NEW')} {_sqlite_bump('OLD')} END",
    f"CREATE TRIGGER diagnostics_itemissue_version_delete AFTER DELETE ON diagnostics_itemissue "
    f"BEGIN {_sqlite_bump('OLD')} END",
]
SQLITE_UNINSTALL = slotted_counts.sqlite_row_trigger_drops("diagnostics_itemissue_version")


TRIGGERS = slotted_counts.Triggers(
    "item-issue version", POSTGRESQL_INSTALL, POSTGRESQL_UNINSTALL, SQLITE_INSTALL, SQLITE_UNINSTALL
)
# The migration's forward and reverse: create the triggers (after dropping any older version), drop them.
install_triggers = TRIGGERS.install
uninstall_triggers = TRIGGERS.uninstall


def versions(catalog_ids: Iterable[int]) -> str:
    """The catalogs' issue versions as one comparable text ("3:17,5:2"); one indexed query."""
    ids = sorted(set(catalog_ids))
    rows = dict(
        ItemIssueVersion.objects.filter(catalog_id__in=ids)
        .order_by()
        .values_list("catalog_id")
        .annotate(total=Sum("n"))
    )
    return ",".join(f"{pk}:{rows.get(pk, 0)}" for pk in ids)


class Memo:
    """Results memoised at the catalogs' current issue versions: one query for the version, one for the memos.

    The version is read before anything is computed: a write landing meanwhile leaves a
    memo stamped with the older version, so the next request computes again (a memo is
    never served for issues it did not see).
    """

    def __init__(self, catalog_ids: Iterable[int], keys: Iterable[str] = ()) -> None:
        self.version = versions(catalog_ids)
        self._found = (
            dict(ProblemMemo.objects.filter(key__in=list(keys), version=self.version).values_list("key", "payload"))
            if keys
            else {}
        )

    def get(self, key: str, compute: Callable[[], object]) -> object:
        """``compute()``'s JSON-able result for ``key``, computed again only when the issues changed."""
        if key in self._found:
            return self._found[key]
        hit = ProblemMemo.objects.filter(key=key, version=self.version).values_list("payload", flat=True).first()
        if hit is None:
            hit = compute()
            ProblemMemo.objects.update_or_create(key=key, defaults={"version": self.version, "payload": hit})
        self._found[key] = hit
        return hit


def fold(connection=default_connection) -> int:
    """Move every connection's version rows into slot 0 (the sums stay); rows folded."""
    return slotted_counts.fold(connection, TABLE, "catalog_id")


def install_after_migrate(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """``post_migrate`` receiver: (re)install the triggers (SQLite drops them when it rebuilds a table)."""
    connection = connections[using]
    if TABLE in connection.introspection.table_names():
        install_triggers(connection)
