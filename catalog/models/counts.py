"""Variants per tenant, catalog and state, maintained by the database as the states change.

The health page, the dashboard and ``sync_status --json`` read these rows instead of
counting a million variants per request. Triggers on ``catalog_variant`` (installed by
migration 0015, SQL in ``catalog/state_counts.py``) add each statement's change to them
in the same statement, so no write path — the ORM, ``bulk_update``, the COPY upsert, a
cascade — can forget to. ``state_counts.reconcile()`` folds and proves them equal to a
``COUNT`` on a schedule.

On PostgreSQL each connection adds to its own rows (``slot`` is its backend pid): two
transactions never wait on, or deadlock over, one counter row. The schedule folds them
into ``slot`` 0. On SQLite (one writer at a time) every change goes to ``slot`` 0.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.db.models import Sum

# The verdicts that ``health_counts`` folds into "not visible".
_NOT_VISIBLE = ("NOT_VISIBLE", "REJECTED")


def empty_health_counts() -> dict:
    """The stable counts contract with every number at zero."""
    return {
        "pending": 0,
        "synced": 0,
        "failed": 0,
        "excluded": 0,
        "verdict": {"live": 0, "not_visible": 0, "in_review": 0, "rejected": 0},
    }


def add_state_row(counts: dict, status: str, excluded: bool, verdict: str, n: int) -> None:
    """Add ``n`` variants of one (meta_status, excluded, verdict) state to a counts dict.

    The one place that says how a state is counted: ``excluded`` wins over any push
    status, and the verdict splits only the synced (unread counts as in review).
    """
    if excluded:
        counts["excluded"] += n
        return
    counts[status.lower()] += n
    if status != "SYNCED":
        return
    verdicts = counts["verdict"]
    if verdict == "LIVE":
        verdicts["live"] += n
    elif verdict in _NOT_VISIBLE:
        verdicts["not_visible"] += n
        if verdict == "REJECTED":
            verdicts["rejected"] += n
    else:  # IN_REVIEW, or not read yet
        verdicts["in_review"] += n


def fold_state_rows(rows: Iterable[tuple[str, bool, str, int]]) -> dict:
    """The counts contract from (meta_status, excluded, verdict, n) rows."""
    counts = empty_health_counts()
    for status, excluded, verdict, n in rows:
        add_state_row(counts, status, excluded, verdict, n)
    return counts


class VariantStateCountQuerySet(models.QuerySet):
    def _rows(self, catalog_ids: Iterable[int], tenant_id: int | None = None):
        rows = self.filter(catalog_id__in=[pk for pk in catalog_ids if pk])
        if tenant_id is not None:
            rows = rows.filter(tenant_id=tenant_id)
        return rows.order_by().values_list("catalog_id", "meta_status", "excluded", "verdict").annotate(total=Sum("n"))

    def health_counts(self, catalog_ids: Iterable[int], *, tenant_id: int | None = None) -> dict:
        """``VariantQuerySet.health_counts()`` of the catalogs' variants, from the maintained rows.

        With ``tenant_id``, catalogs of other tenants count nothing.
        """
        rows = self._rows(catalog_ids, tenant_id)
        return fold_state_rows((status, excluded, verdict, n) for _, status, excluded, verdict, n in rows)

    def total(self, tenant_ids: Iterable[int] | None = None, **states) -> int:
        """Variants of the tenants (every tenant: ``None``), in or out of a catalog, in the given states.

        ``states`` filter on ``meta_status`` / ``excluded`` / ``verdict`` / ``catalog_id``.
        """
        rows = self.filter(**states)
        if tenant_ids is not None:
            rows = rows.filter(tenant_id__in=list(tenant_ids))
        return rows.aggregate(total=Sum("n"))["total"] or 0

    def by_catalog(self, catalog_ids: Iterable[int]) -> dict[int, dict]:
        """The counts contract per catalog; a catalog without variants is absent."""
        out: dict[int, dict] = {}
        for catalog_id, status, excluded, verdict, n in self._rows(catalog_ids):
            if n:
                add_state_row(out.setdefault(catalog_id, empty_health_counts()), status, excluded, verdict, n)
        return out


class VariantStateCount(models.Model):
    """How many of a tenant's variants in one catalog are in one (meta_status, excluded, verdict) state.

    Written only by the database's triggers and by ``state_counts`` (fold, correction);
    the sum of ``n`` over the slots is the count.
    """

    # No database constraint: the triggers write these rows while Django deletes a tenant
    # or a catalog (after it collected what to delete); zero rows are folded away.
    tenant = models.ForeignKey(
        "catalog.Tenant", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    # Not a foreign key: 0 stands for "in no catalog" (a unique key treats NULLs as distinct).
    catalog_id = models.BigIntegerField(help_text="The variants' catalog; 0: in no catalog.")
    meta_status = models.CharField(max_length=8)
    excluded = models.BooleanField()
    verdict = models.CharField(max_length=16, blank=True)
    slot = models.IntegerField(default=0, help_text="0: folded; otherwise the PostgreSQL backend that added it.")
    n = models.BigIntegerField(default=0)

    objects = VariantStateCountQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["catalog_id", "meta_status", "excluded", "verdict", "tenant", "slot"],
                name="variantstatecount_unique",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "meta_status"], name="variantstatecount_tenant")]

    def __str__(self) -> str:
        excluded = " excluded" if self.excluded else ""
        return f"catalog {self.catalog_id} {self.meta_status}/{self.verdict or '-'}{excluded}: {self.n}"
