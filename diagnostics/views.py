"""Merchant pages: catalog health, drill-down lists, CSV export and the product (item) view."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils import formats, timezone
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from catalog import timeline
from catalog.models import Catalog, Product, Variant
from catalog.permissions import Action, can
from galantis.queue import enqueue

from . import charts, health, listing, states
from .access import pick_catalog, pick_tenant
from .fixes import fix_link, help_link, settings_url
from .item_view import product_health
from .models import ErrorType, IssueSource, Priority
from .polling import refresh_item_errors

LOGIN_URL = reverse_lazy("health:login")
# A merchant can ask for a fresh check at most this often per tenant (seconds).
CHECK_NOW_COOLDOWN = 60


def _filters_context(request: HttpRequest) -> dict:
    return {
        "priorities": Priority.choices,
        "sources": [c for c in IssueSource.choices if c[0] != IssueSource.INTEGRATION],
        "state_choices": [(s, states.LABELS[s]) for s in states.FILTERABLE if s != states.ALL],
        "selected_priority": request.GET.get("priority", "").upper(),
        "selected_source": request.GET.get("source", ""),
    }


# The cards in the order a merchant reads them: what is live, what is not and why, what is on its way.
CARDS = (states.LIVE, states.NOT_VISIBLE, states.IN_REVIEW, states.FAILED, states.PENDING, states.EXCLUDED)
CARD_HELP = {
    states.LIVE: _("approved by Meta and shown on WhatsApp"),
    states.NOT_VISIBLE: _("Meta holds them but does not show them"),
    states.IN_REVIEW: _("accepted by Meta, waiting for its review"),
    states.FAILED: _("not sent, or refused by Meta: each has a fix"),
    states.PENDING: _("waiting to be sent"),
    states.EXCLUDED: _("draft, archived or unpublished in Shopify, or excluded in Galantis"),
}


# Why the "not visible" ones are not, as the card's two lines.
PART_LABELS = {
    states.REJECTED: _("rejected in Meta's review"),
    states.HIDDEN: _("hidden, image not fetched, or refused by WhatsApp's review"),
}


@login_required(login_url=LOGIN_URL)
def health_page(request: HttpRequest) -> HttpResponse:
    """Catalog health: variants per state, problems with a CTA each, connection state and trends."""
    tenant, tenants = pick_tenant(request)
    catalog = pick_catalog(request, tenant)
    ctx = _filters_context(request)
    summary = health.summarise(
        tenant,
        catalog=catalog,
        priority=ctx["selected_priority"] if ctx["selected_priority"] in Priority.values else "",
        source=ctx["selected_source"] if ctx["selected_source"] in IssueSource.values else "",
    )
    if not can(request.user, Action.SEE_CONNECTION, tenant):
        summary.connection.token_hint = ""  # viewers never see a secret, not even its last four
    c = summary.counts
    catalog_query = f"&catalog={catalog.pk}" if catalog else ""
    items_url = f"{reverse('health:items')}?tenant={tenant.slug}{catalog_query}"
    context = {
        **ctx,
        "tenant": tenant,
        "tenants": tenants,
        "summary": summary,
        "catalog": catalog,
        "cards": _cards(c, items_url),
        "reason_sample": health.REASON_SAMPLE,
        "top_errors": summary.top_errors[: health.TOP_ERRORS],
        "more_errors": max(len(summary.top_errors) - health.TOP_ERRORS, 0),
        "token_blocks_sync": health.token_blocks_sync(summary),
        "status_bar": charts.status_bar([(s, states.LABELS[s], c.of(s)) for s in CARDS]),
        "status_chart": charts.line_chart(
            summary.trend, CARDS, title=gettext("Variants by state"), labels=states.SHORT_LABELS, chart="states"
        ),
        "issues_chart": charts.line_chart(
            summary.trend,
            ["high", "medium", "low"],
            labels={"high": Priority.HIGH.label, "medium": Priority.MEDIUM.label, "low": Priority.LOW.label},
            chart="problems",
            title=gettext("Variants with open problems, by priority"),
        ),
        "catalog_query": catalog_query,
        "items_url": items_url,
        "settings_url": settings_url(tenant),
        "can_operate": can(request.user, Action.OPERATE, tenant),
        "other_catalog_issues": [
            {"issue": i, "cta": fix_link(i.error_type, catalog=i.catalog, tenant=tenant)}
            for i in summary.catalog_wide_findings
        ],
    }
    context["top_error_rows"] = _top_error_rows(
        context["top_errors"],
        tenant,
        catalog or (summary.catalogs[0] if summary.catalogs else None),
        items_url,
    )
    return TemplateResponse(request, "diagnostics/health.html", context)


def _cards(counts: health.StatusCounts, items_url: str) -> list[dict]:
    """One card per state (variants), each linking to the list of exactly those variants."""
    cards = []
    for state in CARDS:
        parts = []
        if state == states.NOT_VISIBLE:
            parts = [
                {"state": s, "label": PART_LABELS[s], "count": counts.of(s), "url": f"{items_url}&state={s}"}
                for s in (states.REJECTED, states.HIDDEN)
            ]
        cards.append(
            {
                "state": state,
                "label": states.LABELS[state],
                "count": counts.of(state),
                "pct": counts.pct(state),
                "help": CARD_HELP[state],
                "url": f"{items_url}&state={state}",
                "parts": parts,
            }
        )
    return cards


def _top_error_rows(groups: list[health.TopError], tenant, catalog: Catalog | None, items_url: str) -> list[dict]:
    """Each problem with its drill-down and the CTA to where it is fixed: the product itself when it is one.

    One query (the variants of problems that concern a single variant) whatever the rows.
    """
    single = {g.first_variant_id for g in groups if g.count == 1 and g.first_variant_id}
    variants = (
        Variant.objects.filter(pk__in=single).select_related("product", "product__store", "catalog").in_bulk()
        if single
        else {}
    )
    rows = []
    for group in groups:
        et = group.error_type
        variant = variants.get(group.first_variant_id) if group.count == 1 else None
        if variant is not None:
            cta = fix_link(
                et, catalog=variant.catalog or catalog, product=variant.product, variant=variant, tenant=tenant
            )
        elif et.fix_location in (ErrorType.FixLocation.SHOPIFY_PRODUCT, ErrorType.FixLocation.GALANTIS_PRODUCT):
            cta = None  # fixed product by product: the drill-down lists each with its own link
        else:
            cta = fix_link(et, catalog=catalog, tenant=tenant)
        if cta is None and not group.count:
            cta = help_link(et)
        drill_url = f"{items_url}&error={et.code}" if group.count else ""
        # Beside the fix: the variant's own page when it is one variant, else the list of them.
        if variant is not None:
            see_url = reverse("health:product", args=[variant.product_id])
            see_label = gettext("Why this variant (%(product)s)") % {
                "product": Truncator(variant.product.title).chars(40)
            }
        else:
            see_label = ngettext("See %(count)s variant", "See %(count)s variants", group.count) % {
                "count": formats.number_format(group.count, force_grouping=True)
            }
            see_url = drill_url
        rows.append(
            {
                "group": group,
                "drill_url": drill_url,
                "cta": cta,
                "variant": variant,
                "see_url": "" if cta is not None and cta.url == see_url else see_url,
                "see_label": see_label,
                "priority_label": Priority(group.priority).label if group.priority in Priority.values else "",
            }
        )
    return rows


def _item_filter(request: HttpRequest, tenant) -> tuple[listing.ItemFilter, Catalog | None]:
    catalog = pick_catalog(request, tenant)
    ids = [catalog.pk] if catalog else list(Catalog.objects.for_tenant(tenant).values_list("pk", flat=True))
    code = request.GET.get("error", "")
    error_type = get_object_or_404(ErrorType, code=code) if code else None
    return listing.ItemFilter.from_params(request.GET, ids, error_type), catalog


@login_required(login_url=LOGIN_URL)
def item_list(request: HttpRequest) -> HttpResponse:
    """Drill-down: variants in a given state and/or with an open problem, 50 per page (keyset)."""
    tenant, tenants = pick_tenant(request)
    item_filter, catalog = _item_filter(request, tenant)
    after = request.GET.get("after", "")
    page = listing.item_page(tenant, item_filter, after=int(after) if after.isdigit() else 0)
    for variant, issues in page.rows:
        variant.view = listing.row_view(variant, issues)
    query = item_filter.as_query()
    if catalog:
        query["catalog"] = str(catalog.pk)
    context = {
        **_filters_context(request),
        "tenant": tenant,
        "tenants": tenants,
        "catalog": catalog,
        "filter": item_filter,
        "page": page,
        "total": listing.count_items(tenant, item_filter),
        "query": query,
        "is_first_page": not after,
    }
    return TemplateResponse(request, "diagnostics/items.html", context)


@login_required(login_url=LOGIN_URL)
def export_items(request: HttpRequest) -> StreamingHttpResponse:
    """CSV of the filtered variants (the failed ones when no filter is given), streamed with flat memory."""
    tenant, _ = pick_tenant(request)
    item_filter, _ = _item_filter(request, tenant)
    if not (item_filter.state or item_filter.uses_issues or item_filter.q):
        item_filter = listing.ItemFilter(item_filter.catalog_ids, state=states.FAILED)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(listing.export_rows(tenant, item_filter), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{tenant.slug}-items-{stamp}.csv"'
    return response


@login_required(login_url=LOGIN_URL)
def product_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Every variant's status and open problems with their fixes; Meta is asked live (cached)."""
    product = get_object_or_404(Product.objects.for_user(request.user).select_related("store", "tenant"), pk=pk)
    review, checked_at, check_error = live_item_check(product, force=request.GET.get("refresh") == "1")
    history = timeline.product_page(product.pk, product.tenant_id, request.GET.get("cursor", ""))
    context = {
        "tenant": product.tenant,
        "tenants": [],
        "health": product_health(product, review=review, checked_at=checked_at, check_error=check_error),
        "product": product,
        # Since when, and why: every event of its variants, newest first (keyset-paged by ?cursor=).
        "history": history,
        "history_labels": dict(Variant.objects.filter(product=product).values_list("pk", "title")),
    }
    return TemplateResponse(request, "diagnostics/product.html", context)


def live_item_check(product: Product, *, force: bool = False) -> tuple[dict[str, str], object, str]:
    """Ask Meta for the product's items (cached); returns review statuses, when, and any error."""
    catalog = getattr(product.store, "catalog", None) if product.store_id else None
    if catalog is None or not catalog.meta_catalog_id:
        return {}, None, ""
    variants = list(Variant.objects.filter(product=product, catalog=catalog).only("pk", "retailer_id"))
    if not variants:
        return {}, None, ""
    check = refresh_item_errors(catalog, variants, product_id=product.pk, force=force)
    return check.review, check.checked_at, check.error


@require_POST
@login_required(login_url=LOGIN_URL)
def check_now(request: HttpRequest) -> HttpResponse:
    """Queue a diagnostics poll of the tenant's catalogs (at most once a minute); never calls Meta inline."""
    tenant, _ = pick_tenant(request)
    if not can(request.user, Action.OPERATE, tenant):
        raise PermissionDenied("Viewers look; checking with Meta is for the shop's owners and staff.")
    key = f"diagnostics:check-now:{tenant.pk}"
    if cache.add(key, True, CHECK_NOW_COOLDOWN):
        ids = list(Catalog.objects.for_tenant(tenant).exclude(meta_catalog_id="").values_list("pk", flat=True))
        for catalog_id in ids:
            enqueue("diagnostics.tasks.poll_catalog", catalog_id, group=f"diagnostics:{catalog_id}")
        messages.success(request, gettext("Checking with Meta now: refresh this page in a minute."))
    else:
        messages.info(request, gettext("A check is already running: refresh this page in a minute."))
    return redirect(f"{reverse('health:index')}?tenant={tenant.slug}")
