"""Filtered variant lists for drill-down and CSV export: keyset-paginated, constant queries per page.

The lists filter with ``states.q`` and the open issues exactly as the health page counts
them (``states`` and ``problems``), so a card or a problem row that says 189 variants
opens a list of 189 variants, and the CSV's ``state`` column adds up to the cards.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from catalog.models import Tenant, Variant

from . import problems, states
from .fixes import fix_link, variant_fix_link
from .models import ErrorType, IssueSource, ItemIssue, Priority

PAGE_SIZE = 50
EXPORT_CHUNK = 1000
# ``?status=FAILED`` (the old drill-down links) means the failed card's state.
STATUS_TO_STATE = {
    Variant.SyncStatus.PENDING: states.PENDING,
    Variant.SyncStatus.SYNCED: states.SYNCED,
    Variant.SyncStatus.FAILED: states.FAILED,
}


@dataclass(frozen=True)
class ItemFilter:
    """What the merchant asked for: a state, an error type, a priority, a source, a catalog, a SKU."""

    catalog_ids: tuple[int, ...]
    state: str = ""
    error_type: ErrorType | None = None
    priority: str = ""
    source: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params, catalog_ids: list[int], error_type: ErrorType | None = None) -> ItemFilter:
        state = params.get("state", "").lower()
        if state not in states.FILTERABLE:
            state = STATUS_TO_STATE.get(params.get("status", "").upper(), "")
        priority = params.get("priority", "").upper()
        source = params.get("source", "")
        return cls(
            catalog_ids=tuple(catalog_ids),
            state=state,
            error_type=error_type,
            priority=priority if priority in Priority.values else "",
            source=source if source in IssueSource.values else "",
            q=params.get("q", "").strip()[:100],
        )

    @property
    def uses_issues(self) -> bool:
        return bool(self.error_type or self.priority or self.source)

    @property
    def state_label(self) -> str:
        return states.LABELS.get(self.state, "")

    def as_query(self) -> dict[str, str]:
        out = {
            "state": self.state,
            "priority": self.priority,
            "source": self.source,
            "q": self.q,
            "error": self.error_type.code if self.error_type else "",
        }
        return {k: v for k, v in out.items() if v}


def _issues(tenant: Tenant, f: ItemFilter) -> QuerySet[ItemIssue]:
    """The open issues behind an issue filter (``problems.open_issues``, the page's own counts)."""
    issues = problems.open_issues(tenant, f.catalog_ids)
    if f.error_type is not None:
        issues = issues.filter(error_type=f.error_type)
    if f.priority:
        issues = issues.filter(priority=f.priority)
    if f.source:
        issues = issues.filter(source=f.source)
    if f.state and f.state != states.ALL:
        issues = issues.filter(states.q(f.state, "variant__"))
    if f.q:
        issues = issues.filter(Q(variant__sku=f.q) | Q(variant__retailer_id=f.q))
    return issues


def _variants(tenant: Tenant, f: ItemFilter) -> QuerySet[Variant]:
    variants = Variant.objects.for_tenant(tenant).filter(catalog_id__in=f.catalog_ids)
    if f.state:
        variants = variants.filter(states.q(f.state))
    if f.q:
        variants = variants.filter(Q(sku=f.q) | Q(retailer_id=f.q))
    return variants


def _variant_ids_page(tenant: Tenant, f: ItemFilter, after: int, limit: int) -> list[int]:
    """The next ``limit`` variant ids after ``after`` (walks the open-issue index when filtering by issue)."""
    if f.uses_issues:
        return list(
            _issues(tenant, f)
            .filter(variant_id__gt=after)
            .order_by("variant_id")
            .values_list("variant_id", flat=True)
            .distinct()[:limit]
        )
    return list(_variants(tenant, f).filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:limit])


def count_items(tenant: Tenant, f: ItemFilter) -> int:
    """How many variants the list holds, counted the way the health page counts them (one query).

    A state alone is the card's own number (``health_counts()``); an issue filter is the
    problem row's (distinct variants with such an open issue).
    """
    if f.uses_issues:
        return _issues(tenant, f).order_by().aggregate(n=Count("variant_id", distinct=True))["n"]
    if f.q:
        return _variants(tenant, f).count()
    counts = states.counts_for_catalogs(f.catalog_ids, tenant_id=tenant.pk)
    return counts.of(f.state or states.ALL)


def _load(ids: list[int]) -> QuerySet[Variant]:
    return Variant.objects.filter(pk__in=ids).select_related("product", "product__store", "catalog").order_by("pk")


def open_issues_by_variant(variant_ids: list[int]) -> dict[int, list[ItemIssue]]:
    """Open issues of the listed variants, most urgent first (one query)."""
    out: dict[int, list[ItemIssue]] = {}
    rows = ItemIssue.objects.open().filter(variant_id__in=variant_ids).select_related("error_type")
    for issue in sorted(rows, key=lambda i: ({"HIGH": 0, "MEDIUM": 1, "LOW": 2}.get(i.priority, 9), i.pk)):
        out.setdefault(issue.variant_id, []).append(issue)
    return out


@dataclass
class ItemPage:
    rows: list[tuple[Variant, list[ItemIssue]]]
    next_after: int | None


def item_page(tenant: Tenant, f: ItemFilter, *, after: int = 0, limit: int = PAGE_SIZE) -> ItemPage:
    """One page of the filtered list with each variant's open issues (three queries)."""
    ids = _variant_ids_page(tenant, f, after, limit + 1)
    has_more = len(ids) > limit
    ids = ids[:limit]
    variants = list(_load(ids)) if ids else []
    issues = open_issues_by_variant(ids) if ids else {}
    return ItemPage([(v, issues.get(v.pk, [])) for v in variants], ids[-1] if has_more and ids else None)


@dataclass
class RowView:
    """What a list row (and a CSV line) says about a variant beyond its issues."""

    state: str
    state_label: str
    why_not_visible: str
    error_speaker: str
    action: object  # FixLink | None: where the variant's own fix is made


def row_view(variant: Variant, issues: list[ItemIssue]) -> RowView:
    """The row's state, why it is not visible, who said its error, and the link to its fix."""
    state = states.state_of(variant)
    link = None
    if issues:
        link = fix_link(
            issues[0].error_type,
            catalog=variant.catalog,
            product=variant.product,
            variant=variant,
            store=variant.product.store,
        )
    return RowView(
        state=state,
        state_label=states.LABELS[state],
        why_not_visible=states.why_not_visible(variant),
        error_speaker=states.error_speaker(variant) if variant.last_error else "",
        action=link or variant_fix_link(variant),
    )


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a streaming response."""

    def write(self, value: str) -> str:
        return value


# A cell starting with one of these is a formula to Excel, LibreOffice and Sheets (OWASP
# "CSV Injection"): a product title "=HYPERLINK(...)" from a Shopify store must stay text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """``value`` as a spreadsheet shows it verbatim: a leading ``'`` before a formula trigger."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


CSV_HEADER = [
    "retailer_id",
    "sku",
    "product",
    "variant",
    "state",
    "status",
    "verdict",
    "review_status",
    "why_not_visible",
    "failure_source",
    "error",
    "error_from",
    "fix",
    "accepted_by_meta_at",
    "priority",
    "error_codes",
    "problems",
    "fixes",
    "where_to_fix",
    "shopify_admin_url",
    "galantis_product_url",
]


def export_rows(tenant: Tenant, f: ItemFilter) -> Iterator[str]:
    """CSV lines of every item matching ``f``, streamed in keyset chunks (memory stays flat)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    after = 0
    while True:
        ids = _variant_ids_page(tenant, f, after, EXPORT_CHUNK)
        if not ids:
            return
        issues = open_issues_by_variant(ids)
        for variant in _load(ids):
            product = variant.product
            mine = issues.get(variant.pk, [])
            link = (
                fix_link(
                    mine[0].error_type, catalog=variant.catalog, product=product, variant=variant, store=product.store
                )
                if mine
                else variant_fix_link(variant)
            )
            accepted = states.accepted_at(variant)
            yield writer.writerow(
                [
                    csv_cell(cell)
                    for cell in (
                        variant.retailer_id,
                        variant.sku,
                        product.title,
                        variant.title,
                        states.state_of(variant),
                        variant.meta_status,
                        variant.verdict,
                        variant.review_status,
                        states.why_not_visible(variant),
                        variant.failure_source,
                        _one_line(variant.last_error),
                        ("meta" if states.error_is_metas(variant) else "galantis") if variant.last_error else "",
                        _one_line(variant.last_error_fix),
                        accepted.isoformat() if accepted else "",
                        mine[0].priority if mine else "",
                        " ".join(i.error_type.code for i in mine),
                        " | ".join(_one_line(i.message or i.error_type.display_title) for i in mine)
                        or _one_line(variant.last_error),
                        " | ".join(_one_line(i.error_type.display_fix) for i in mine)
                        or _one_line(variant.last_error_fix),
                        link.url if link else "",
                        product.shopify_admin_url,
                        reverse("health:product", args=[product.pk]),
                    )
                ]
            )
        if len(ids) < EXPORT_CHUNK:
            return
        after = ids[-1]


def _one_line(text: str) -> str:
    return " ".join((text or "").split())
