"""The item view: "Why isn't this on WhatsApp?" for every variant of one product, in one place.

Each variant shows both statuses, never mixed: our push status (pending / synced /
failed, who failed it and the fix) and Meta's verdict (live / not visible and why / in
review, the review status verbatim). Only what Meta said is quoted as Meta's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from catalog.items import is_excluded
from catalog.models import Catalog, Product, Variant

from . import states
from .fixes import FixLink, fix_link, help_link, variant_fix_link
from .health import pause_reason
from .integration import INTEGRATION_TYPES
from .models import PRIORITY_RANK, CatalogIssue, IssueSource, ItemIssue, Priority

WHATSAPP = "whatsapp"  # the capability key in Meta's capability_to_review_status
WHATSAPP_APPROVED = "APPROVED"
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
    # Who ``message`` quotes: "Meta says" for Meta's reports, "Galantis found" for our own checks.
    speaker: str = _("Meta says")


@dataclass
class VariantView:
    variant: Variant
    headline: str
    level: str  # ok / warn / bad
    issues: list[IssueView] = field(default_factory=list)
    resolved: list[ItemIssue] = field(default_factory=list)
    review_status: str = ""
    state: str = ""  # states.LEAVES
    state_label: str = ""
    review_label: str = ""
    why_not_visible: str = ""
    error_speaker: str = ""  # "Meta says" / "Galantis found" for ``variant.last_error``
    accepted_at: datetime | None = None  # when Meta last accepted a version (None: never sent, or deleted)
    # Since when customers cannot see it (Variant.objects.with_not_shown_since; None: shown, or not known).
    not_shown_since: datetime | None = None
    action: FixLink | None = None  # where to act when no issue says so
    show_error: bool = False  # ``last_error`` says something no issue below says already


@dataclass
class ProductHealth:
    product: Product
    variants: list[VariantView]
    blocking: list[IssueView]
    checked_at: datetime | None = None
    check_error: str = ""


def _issue_view(
    issue: ItemIssue | CatalogIssue,
    *,
    catalog: Catalog | None,
    product: Product,
    variant: Variant | None,
    in_admin: bool = False,
) -> IssueView:
    et = issue.error_type
    title = issue.display_title if isinstance(issue, CatalogIssue) else et.display_title
    ours = isinstance(issue, ItemIssue) and issue.source == IssueSource.LOCAL_VALIDATION
    return IssueView(
        issue=issue,
        title=title,
        description=et.display_description,
        message=issue.message if issue.message not in (et.description, title) else "",
        fix=et.display_fix,
        priority=issue.priority,
        source=issue.get_source_display(),
        fix_link=fix_link(
            et,
            catalog=catalog,
            product=product,
            variant=variant,
            store=product.store,
            tenant=product.tenant if Product.tenant.is_cached(product) else None,
            in_admin=in_admin,
        ),
        help_link=help_link(et),
        speaker=gettext("Galantis found") if ours else gettext("Meta says"),
    )


def _exclusion_reason(product: Product) -> str:
    if product.excluded_from_meta:
        return gettext("the product is excluded from Meta in Galantis")
    if product.removed_at is not None:
        return gettext("the product was deleted in Shopify")
    if product.status != Product.Status.ACTIVE:
        return gettext("the product is %(status)s in Shopify") % {"status": product.get_status_display().lower()}
    return gettext("the product is not published to the Online Store in Shopify")


def explain(
    variant: Variant, product: Product, issues: list[IssueView], blocking: list[IssueView], review_status: str = ""
) -> tuple[str, str]:
    """The one-line answer and its level (ok / warn / bad) for one variant.

    Follows the variant's state (``states.state_of``, the health page's cards): not sent
    (excluded), pending, failed, then Meta's verdict on a synced item.
    """
    high = [i for i in issues if i.priority == Priority.HIGH]
    if variant.excluded or is_excluded(product) or variant.removed_at is not None:
        reason = gettext("the variant was deleted in Shopify") if variant.removed_at else _exclusion_reason(product)
        return gettext("Not sent to Meta: %(reason)s.") % {"reason": reason}, "warn"
    if variant.catalog_id is None:
        return gettext("Not on WhatsApp: the store is not connected to a Meta catalog yet."), "bad"
    if blocking and variant.meta_status != Variant.SyncStatus.SYNCED:
        return gettext("Not sent to Meta: %(reason)s.") % {"reason": blocking[0].title.lower()}, "bad"
    if variant.meta_status == Variant.SyncStatus.FAILED:
        if issues:
            return gettext("Not on WhatsApp: %(reason)s.") % {"reason": issues[0].title.lower()}, "bad"
        who = gettext("Meta rejected it") if states.error_is_metas(variant) else gettext("it cannot be sent")
        return gettext("Not on WhatsApp: %(reason)s.") % {"reason": variant.last_error or who}, "bad"
    if variant.meta_status == Variant.SyncStatus.PENDING:
        reason = pause_reason(variant.catalog, translated=True) if variant.catalog is not None else ""
        if reason:
            return gettext("Waiting: sync is paused (%(reason)s).") % {"reason": reason.rstrip(".")}, "warn"
        if variant.in_flight_batch_id:
            return gettext("Being sent to Meta right now."), "warn"
        return gettext("Waiting to be sent to Meta (changes go out within minutes)."), "warn"
    verdict = variant.verdict
    if verdict == Variant.Verdict.REJECTED or (not verdict and review_status == "rejected"):
        return gettext("In the catalog but rejected by Meta's review: not shown anywhere."), "bad"
    if verdict == Variant.Verdict.NOT_VISIBLE:
        why = states.why_not_visible(variant) or gettext("Meta hides it")
        return gettext("In the catalog but not visible: %(reason)s.") % {"reason": why}, "bad"
    if high:
        return gettext("In the catalog but not shown: %(reason)s.") % {"reason": high[0].title.lower()}, "bad"
    if verdict != Variant.Verdict.LIVE:
        return gettext("In the catalog, waiting for Meta's review."), "warn"
    if not_on_whatsapp := _whatsapp_gap(variant):
        return not_on_whatsapp, "warn"
    if issues:
        return ngettext(
            "Live on WhatsApp, with %(count)s suggestion to improve it.",
            "Live on WhatsApp, with %(count)s suggestions to improve it.",
            len(issues),
        ) % {"count": len(issues)}, "ok"
    return gettext("Live in the catalog and available on WhatsApp."), "ok"


def _whatsapp_gap(variant: Variant) -> str:
    """Why a live item is still not on WhatsApp ("" when Meta approved it there or does not say).

    Meta reviews the WhatsApp capability apart from the item: an item live in the catalog is
    shown on WhatsApp only once that review approves it, and never while the merchant has
    turned WhatsApp off for it in Commerce Manager (Meta then reports ``NO_REVIEW``).
    """
    status = str((variant.channel_review or {}).get(WHATSAPP, "")).upper()
    if status in ("", WHATSAPP_APPROVED):
        return ""
    if status == "PENDING":
        return gettext("Live in the catalog, not on WhatsApp yet: Meta's WhatsApp review is pending.")
    if status == "NO_REVIEW":
        return gettext(
            "Live in the catalog but not on WhatsApp: WhatsApp is turned off for this item in Commerce Manager."
        )
    return gettext("Live in the catalog but not on WhatsApp: Meta's WhatsApp status is %(status)s.") % {
        "status": status
    }


def product_health(
    product: Product,
    *,
    review: dict[str, str] | None = None,
    checked_at: datetime | None = None,
    check_error: str = "",
    now: datetime | None = None,
    in_admin: bool = False,
) -> ProductHealth:
    """Every variant of ``product`` with its status, open issues from every source and their fixes.

    Three queries whatever the number of variants: variants (with since when those not shown
    are so, from the timeline), their open and recently resolved issues, and the catalogs'
    blocking (integration) issues.
    """
    now = now or timezone.now()
    review = review or {}
    variants = list(
        Variant.objects.filter(product=product)
        .select_related("catalog", "catalog__store")
        .with_not_shown_since()
        .order_by("position", "pk")
    )
    ids = [v.pk for v in variants]
    open_by_variant: dict[int, list[ItemIssue]] = {}
    resolved_by_variant: dict[int, list[ItemIssue]] = {}
    # Open issues and the recently resolved ones in one query (resolved first, newest first).
    issues = (
        ItemIssue.objects.filter(variant_id__in=ids)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=now - RESOLVED_HISTORY))
        .select_related("error_type")
        .order_by(F("resolved_at").desc(nulls_last=True), "pk")
    )
    for issue in issues:
        if issue.resolved_at is None:
            open_by_variant.setdefault(issue.variant_id, []).append(issue)
        elif len(resolved_by_variant.setdefault(issue.variant_id, [])) < RESOLVED_HISTORY_ROWS:
            resolved_by_variant[issue.variant_id].append(issue)
    catalog_ids = {v.catalog_id for v in variants if v.catalog_id}
    blocking_issues = (
        list(
            CatalogIssue.objects.open()
            .filter(catalog_id__in=catalog_ids, error_type__code__in=INTEGRATION_TYPES)
            .select_related("error_type", "catalog", "catalog__store")
        )
        if catalog_ids
        else []
    )
    blocking = [
        _issue_view(i, catalog=i.catalog, product=product, variant=None, in_admin=in_admin) for i in blocking_issues
    ]
    views = []
    for variant in variants:
        variant.product = product  # the fix links read it; one product for all its variants
        issues = [
            _issue_view(i, catalog=variant.catalog, product=product, variant=variant, in_admin=in_admin)
            for i in open_by_variant.get(variant.pk, [])
        ]
        issues.sort(key=lambda v: (PRIORITY_RANK.get(v.priority, 9), v.title))
        mine = [b for b in blocking if b.issue.catalog_id == variant.catalog_id]
        status = variant.review_status or review.get(variant.retailer_id, "")
        headline, level = explain(variant, product, issues, mine, status)
        state = states.state_of(variant) if variant.catalog_id else ""
        views.append(
            VariantView(
                variant,
                headline,
                level,
                issues,
                resolved_by_variant.get(variant.pk, []),
                status,
                state=state,
                state_label=states.LABELS.get(state, gettext("Not in a catalog")),
                review_label=states.review_label(variant),
                why_not_visible=states.why_not_visible(variant),
                error_speaker=states.error_speaker(variant) if variant.last_error else "",
                accepted_at=states.accepted_at(variant),
                not_shown_since=variant.not_shown_since,
                action=None if any(i.fix_link for i in issues) else variant_fix_link(variant, in_admin=in_admin),
                show_error=bool(variant.last_error) and all(i.message != variant.last_error for i in issues),
            )
        )
    return ProductHealth(product, views, blocking, checked_at, check_error)
