"""The item view: "Why isn't this on WhatsApp?" for every variant of one product, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from catalog.items import is_excluded
from catalog.models import Catalog, Product, Variant

from .fixes import FixLink, fix_link, help_link
from .health import pause_reason
from .integration import INTEGRATION_TYPES
from .models import PRIORITY_RANK, CatalogIssue, ItemIssue, Priority

RESOLVED_HISTORY = timedelta(days=14)
RESOLVED_HISTORY_ROWS = 10  # per variant


@dataclass
class IssueView:
    issue: ItemIssue | CatalogIssue
    title: str
    description: str
    message: str
    fix: str
    priority: str
    source: str
    fix_link: FixLink | None
    help_link: FixLink | None


@dataclass
class VariantView:
    variant: Variant
    headline: str
    level: str  # ok / warn / bad
    issues: list[IssueView] = field(default_factory=list)
    resolved: list[ItemIssue] = field(default_factory=list)
    review_status: str = ""


@dataclass
class ProductHealth:
    product: Product
    variants: list[VariantView]
    blocking: list[IssueView]
    checked_at: datetime | None = None
    check_error: str = ""


def _issue_view(issue: ItemIssue | CatalogIssue, *, catalog: Catalog | None, product: Product,
                variant: Variant | None) -> IssueView:
    et = issue.error_type
    title = issue.display_title if isinstance(issue, CatalogIssue) else et.display_title
    return IssueView(
        issue=issue,
        title=title,
        description=et.display_description,
        message=issue.message if issue.message not in (et.description, title) else "",
        fix=et.display_fix,
        priority=issue.priority,
        source=issue.get_source_display(),
        fix_link=fix_link(et, catalog=catalog, product=product, variant=variant, store=product.store,
                          tenant=product.tenant if Product.tenant.is_cached(product) else None),
        help_link=help_link(et),
    )


def _exclusion_reason(product: Product) -> str:
    if product.excluded_from_meta:
        return "the product is excluded from Meta in Galantis"
    if product.removed_at is not None:
        return "the product was deleted in Shopify"
    if product.status != Product.Status.ACTIVE:
        return f"the product is {product.get_status_display().lower()} in Shopify"
    return "the product is not published to the Online Store in Shopify"


def explain(variant: Variant, product: Product, issues: list[IssueView], blocking: list[IssueView],
            review_status: str = "") -> tuple[str, str]:
    """The one-line answer and its level (ok / warn / bad) for one variant."""
    high = [i for i in issues if i.priority == Priority.HIGH]
    if is_excluded(product) or variant.removed_at is not None:
        reason = "the variant was deleted in Shopify" if variant.removed_at else _exclusion_reason(product)
        return f"Hidden on WhatsApp: {reason}.", "warn"
    if variant.catalog_id is None:
        return "Not on WhatsApp: the store is not connected to a Meta catalog yet.", "bad"
    if blocking and variant.meta_status != Variant.SyncStatus.SYNCED:
        return f"Not sent to Meta: {blocking[0].title.lower()}.", "bad"
    if variant.meta_status == Variant.SyncStatus.FAILED:
        if issues:
            return f"Not on WhatsApp: {issues[0].title.lower()}.", "bad"
        return f"Not on WhatsApp: {variant.last_error or 'Meta rejected it'}.", "bad"
    if variant.meta_status == Variant.SyncStatus.PENDING:
        reason = pause_reason(variant.catalog) if variant.catalog is not None else ""
        if reason:
            return f"Waiting: sync is paused ({reason.rstrip('.')}).", "warn"
        if variant.in_flight_batch_id:
            return "Being sent to Meta right now.", "warn"
        return "Waiting to be sent to Meta (changes go out within minutes).", "warn"
    if review_status == "rejected":
        return "In the catalog but rejected by Meta's review.", "bad"
    if high:
        return f"In the catalog but not shown: {high[0].title.lower()}.", "bad"
    if review_status == "pending":
        return "In the catalog, waiting for Meta's review.", "warn"
    if issues:
        plural = "suggestion" if len(issues) == 1 else "suggestions"
        return f"Live in the catalog, with {len(issues)} {plural} to improve it.", "ok"
    return "Live in the catalog and available on WhatsApp.", "ok"


def product_health(product: Product, *, review: dict[str, str] | None = None, checked_at: datetime | None = None,
                   check_error: str = "", now: datetime | None = None) -> ProductHealth:
    """Every variant of ``product`` with its status, open issues from every source and their fixes.

    Three queries whatever the number of variants: variants, their open and recently
    resolved issues, and the catalogs' blocking (integration) issues.
    """
    now = now or timezone.now()
    review = review or {}
    variants = list(
        Variant.objects.filter(product=product).select_related("catalog", "catalog__store").order_by("position", "pk")
    )
    ids = [v.pk for v in variants]
    open_by_variant: dict[int, list[ItemIssue]] = {}
    resolved_by_variant: dict[int, list[ItemIssue]] = {}
    # Open issues and the recently resolved ones in one query (resolved first, newest first).
    issues = (
        ItemIssue.objects.filter(variant_id__in=ids)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=now - RESOLVED_HISTORY))
        .select_related("error_type").order_by(F("resolved_at").desc(nulls_last=True), "pk")
    )
    for issue in issues:
        if issue.resolved_at is None:
            open_by_variant.setdefault(issue.variant_id, []).append(issue)
        elif len(resolved_by_variant.setdefault(issue.variant_id, [])) < RESOLVED_HISTORY_ROWS:
            resolved_by_variant[issue.variant_id].append(issue)
    catalog_ids = {v.catalog_id for v in variants if v.catalog_id}
    blocking_issues = list(
        CatalogIssue.objects.open().filter(catalog_id__in=catalog_ids, error_type__code__in=INTEGRATION_TYPES)
        .select_related("error_type", "catalog", "catalog__store")
    ) if catalog_ids else []
    blocking = [_issue_view(i, catalog=i.catalog, product=product, variant=None) for i in blocking_issues]
    views = []
    for variant in variants:
        issues = [
            _issue_view(i, catalog=variant.catalog, product=product, variant=variant)
            for i in open_by_variant.get(variant.pk, [])
        ]
        issues.sort(key=lambda v: (PRIORITY_RANK.get(v.priority, 9), v.title))
        mine = [b for b in blocking if b.issue.catalog_id == variant.catalog_id]
        status = review.get(variant.retailer_id, "")
        headline, level = explain(variant, product, issues, mine, status)
        views.append(VariantView(variant, headline, level, issues, resolved_by_variant.get(variant.pk, []), status))
    return ProductHealth(product, views, blocking, checked_at, check_error)
