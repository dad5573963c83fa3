"""Open problems counted once: variants per problem and per priority, and Meta's own counts beside ours.

Every number counts *variants* (``COUNT(DISTINCT variant_id)`` over open item issues):
a variant reported by two sources for the same problem is one variant, exactly as the
drill-down lists it. The health page, its chart (snapshots) and the drill-downs use
these functions, so "High 230" on the page is 230 rows in the list and 230 on the chart.

Meta's catalog check (the ``diagnostics`` edge) and feed uploads give counts of their own
per error type. Rather than a second table repeating the same problems with other
numbers, Meta's count goes beside ours on the problem's one row, with why they differ.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet
from django.utils.translation import gettext

from catalog.models import Tenant

from . import error_catalog as ec
from . import problem_memo
from .models import PRIORITY_RANK, CatalogIssue, ErrorType, IssueSource, ItemIssue, Priority


@dataclass
class MetaCount:
    """Meta's number of items with one error type, summed over the catalogs shown."""

    count: int = 0
    seen_at: datetime | None = None
    sources: set[str] = field(default_factory=set)  # IssueSource values: diagnostics_poll / feed


@dataclass
class TopError:
    """One problem (an error type): the variants we know have it, and Meta's count when it gave one."""

    error_type: ErrorType
    count: int = 0  # variants with an open issue of this type
    by_priority: dict[str, int] = field(default_factory=dict)  # variants per issue priority
    first_variant_id: int | None = None  # the variant, when ``count`` is 1
    meta: MetaCount | None = None

    @property
    def priority(self) -> str:
        shown = [p for p, n in self.by_priority.items() if n]
        return min(shown, key=lambda p: PRIORITY_RANK.get(p, 9), default=self.error_type.priority)

    @property
    def meta_count(self) -> int | None:
        return self.meta.count if self.meta is not None else None

    @property
    def counts_differ(self) -> bool:
        return self.meta is not None and self.meta.count != self.count

    @property
    def why_counts_differ(self) -> str:
        """Why Meta's count is not ours, in the merchant's words ("" when they agree)."""
        if not self.counts_differ:
            return ""
        assert self.meta is not None
        reasons = []
        if IssueSource.FEED in self.meta.sources:
            reasons.append(
                gettext(
                    "Meta counts every rejected row of a feed upload but names only a sample of them; "
                    "Galantis lists the variants Meta named."
                )
            )
        if IssueSource.DIAGNOSTICS_POLL in self.meta.sources:
            if self.meta.count > self.count:
                reasons.append(
                    gettext(
                        "Meta's catalog check also counts items kept hidden in Meta (draft, archived, "
                        "unpublished or excluded products, which Galantis does not count as problems) "
                        "and items that match no Shopify variant."
                    )
                )
            else:
                reasons.append(
                    gettext(
                        "Meta's catalog check is refreshed about once a day; Galantis reads each item's "
                        "problems every hour and after each sync, so it has seen changes Meta's "
                        "summary has not."
                    )
                )
        return " ".join(reasons)

    @property
    def is_local(self) -> bool:
        return self.error_type.source == ErrorType.Source.LOCAL


def open_issues(tenant: Tenant | int, catalog_ids: Iterable[int]) -> QuerySet[ItemIssue]:
    """Open item issues of the catalogs (the partial open-issue indexes)."""
    return ItemIssue.objects.open().for_tenant(tenant).filter(catalog_id__in=list(catalog_ids))


def priority_totals(issues: QuerySet[ItemIssue]) -> dict[str, int]:
    """Variants with at least one open problem of each priority (one query)."""
    distinct = {p: Count("variant_id", distinct=True, filter=Q(priority=p)) for p in Priority.values}
    totals = issues.order_by().aggregate(**distinct)
    return {p: totals.get(p) or 0 for p in Priority.values}


def _memo_key(kind: str, tenant: Tenant | int, catalog_ids: Iterable[int], *filters: str) -> str:
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    ids = hashlib.sha256(",".join(map(str, sorted(set(catalog_ids)))).encode()).hexdigest()[:32]
    return ":".join([kind, str(tenant_id), ids, *filters])


def totals_key(tenant: Tenant | int, catalog_ids: list[int]) -> str:
    return _memo_key("totals", tenant, catalog_ids)


def groups_key(tenant: Tenant | int, catalog_ids: list[int], priority: str = "", source: str = "") -> str:
    return _memo_key("groups", tenant, catalog_ids, priority, source)


def counted_priority_totals(
    tenant: Tenant | int, catalog_ids: list[int], *, memo: problem_memo.Memo | None = None
) -> dict[str, int]:
    """``priority_totals`` of the catalogs' open issues, computed again only when their issues changed."""
    key = totals_key(tenant, catalog_ids)
    memo = memo or problem_memo.Memo(catalog_ids, [key])
    return memo.get(key, lambda: priority_totals(open_issues(tenant, catalog_ids)))


def counted_groups(
    tenant: Tenant | int,
    catalog_ids: list[int],
    *,
    priority: str = "",
    source: str = "",
    memo: problem_memo.Memo | None = None,
) -> dict[int, TopError]:
    """``groups`` of the catalogs' open issues (filtered), computed again only when their issues changed."""

    def compute() -> dict:
        issues = open_issues(tenant, catalog_ids)
        if priority:
            issues = issues.filter(priority=priority)
        if source:
            issues = issues.filter(source=source)
        return {
            str(pk): {"count": g.count, "by_priority": g.by_priority, "first": g.first_variant_id}
            for pk, g in groups(issues).items()
        }

    key = groups_key(tenant, catalog_ids, priority, source)
    memo = memo or problem_memo.Memo(catalog_ids, [key])
    payload = memo.get(key, compute)
    return {
        int(pk): TopError(
            error_type=None,
            count=row["count"],
            by_priority=row["by_priority"],  # type: ignore[arg-type]
            first_variant_id=row["first"],
        )
        for pk, row in payload.items()
    }


def groups(issues: QuerySet[ItemIssue]) -> dict[int, TopError]:
    """Problems by error type id, each with its variants per priority (one grouped query).

    ``error_type`` is left unset (the caller loads the types of the rows it shows).
    """
    per_priority = {p: Count("variant_id", distinct=True, filter=Q(priority=p)) for p in Priority.values}
    rows = (
        issues.order_by()
        .values("error_type_id")
        .annotate(n=Count("variant_id", distinct=True), first=Min("variant_id"), **per_priority)
    )
    out: dict[int, TopError] = {}
    for row in rows:
        out[row["error_type_id"]] = TopError(
            error_type=None,  # type: ignore[arg-type]  (filled in by the caller)
            count=row["n"],
            by_priority={p: row[p] for p in Priority.values},
            first_variant_id=row["first"] if row["n"] == 1 else None,
        )
    return out


def meta_counts(catalog_issues: Iterable[CatalogIssue]) -> tuple[dict[str, MetaCount], set[int]]:
    """Meta's counts per error type code, and the catalog issues they were read from (folded into rows).

    From the catalog ``diagnostics`` edge (``details["types"]``: the group's item error
    types and their counts) and from feed upload errors (``affected_items``: Meta's total).
    Groups about the catalog itself (no item types) stay catalog-wide findings.
    """
    counts: dict[str, MetaCount] = defaultdict(MetaCount)
    folded: set[int] = set()
    for issue in catalog_issues:
        code = issue.error_type.code
        types = (issue.details or {}).get("types") if isinstance(issue.details, dict) else None
        if issue.source == IssueSource.DIAGNOSTICS_POLL and code.startswith(ec.DIAGNOSTICS_GROUP_PREFIX):
            item_types = {k: v for k, v in (types or {}).items() if isinstance(v, int)}
            if not item_types:
                continue
            for type_code, n in item_types.items():
                _add(counts[type_code], n, issue)
            folded.add(issue.pk)
        elif issue.source == IssueSource.FEED and issue.affected_items is not None:
            _add(counts[code], issue.affected_items, issue)
            folded.add(issue.pk)
    return dict(counts), folded


def _add(meta: MetaCount, n: int, issue: CatalogIssue) -> None:
    meta.count += n
    meta.sources.add(issue.source)
    meta.seen_at = min(filter(None, (meta.seen_at, issue.last_seen)), default=None)


def problem_rows(
    tenant: Tenant | int,
    catalog_ids: list[int],
    catalog_issues: list[CatalogIssue],
    *,
    priority: str = "",
    source: str = "",
    memo: problem_memo.Memo | None = None,
) -> tuple[list[TopError], set[int]]:
    """One row per problem, most urgent first, Meta's count beside ours; and the catalog issues folded in.

    Two queries: the grouped count (memoised on the issues' version), then the error
    types of the rows (ours and Meta's).
    With a priority or source filter only our rows are listed (Meta's counts have neither).
    """
    by_type = counted_groups(tenant, catalog_ids, priority=priority, source=source, memo=memo) if catalog_ids else {}
    meta, folded = meta_counts(catalog_issues)
    filtered = bool(priority or source)
    wanted = Q(pk__in=list(by_type)) | (Q() if filtered else Q(code__in=list(meta)))
    types = list(ErrorType.objects.filter(wanted)) if by_type or (meta and not filtered) else []
    rows: list[TopError] = []
    for error_type in types:
        row = by_type.get(error_type.pk)
        if row is None:
            if filtered or error_type.code not in meta:
                continue
            row = TopError(error_type=error_type, by_priority={})
        row.error_type = error_type
        row.meta = meta.get(error_type.code)
        rows.append(row)
    rows.sort(key=lambda g: (PRIORITY_RANK.get(g.priority, 9), -max(g.count, g.meta_count or 0), g.error_type.code))
    return rows, folded
