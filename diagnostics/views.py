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
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalog.models import Catalog, Product, Variant
from catalog.permissions import Action, can
from galantis.queue import enqueue

from . import charts, health, listing
from .access import pick_catalog, pick_tenant
from .fixes import fix_link, help_link, settings_url
from .item_view import product_health
from .models import ErrorType, IssueSource, Priority

LOGIN_URL = reverse_lazy("health:login")
# A merchant can ask for a fresh check at most this often per tenant (seconds).
CHECK_NOW_COOLDOWN = 60


def _filters_context(request: HttpRequest) -> dict:
    return {
        "priorities": Priority.choices,
        "sources": [c for c in IssueSource.choices if c[0] != IssueSource.INTEGRATION],
        "statuses": Variant.SyncStatus.choices,
        "selected_priority": request.GET.get("priority", "").upper(),
        "selected_source": request.GET.get("source", ""),
    }


@login_required(login_url=LOGIN_URL)
def health_page(request: HttpRequest) -> HttpResponse:
    """Catalog health: counts, top errors with a CTA each, connection state and trends."""
    tenant, tenants = pick_tenant(request)
    catalog = pick_catalog(request, tenant)
    ctx = _filters_context(request)
    summary = health.summarise(
        tenant, catalog=catalog,
        priority=ctx["selected_priority"] if ctx["selected_priority"] in Priority.values else "",
        source=ctx["selected_source"] if ctx["selected_source"] in IssueSource.values else "",
    )
    if not can(request.user, Action.SEE_CONNECTION, tenant):
        summary.connection.token_hint = ""  # viewers never see a secret, not even its last four
    c = summary.counts
    context = {
        **ctx,
        "tenant": tenant,
        "tenants": tenants,
        "summary": summary,
        "catalog": catalog,
        "top_errors": summary.top_errors[: health.TOP_ERRORS],
        "more_errors": max(len(summary.top_errors) - health.TOP_ERRORS, 0),
        "token_blocks_sync": health.token_blocks_sync(summary),
        "status_bar": charts.status_bar(c.synced, c.pending, c.failed),
        "status_chart": charts.line_chart(summary.trend, ["synced", "pending", "failed"],
                                          title="Products by sync status"),
        "issues_chart": charts.line_chart(summary.trend, ["high", "medium", "low"],
                                          title="Open problems by priority"),
        "catalog_query": f"&catalog={catalog.pk}" if catalog else "",
        "settings_url": settings_url(tenant),
        "can_operate": can(request.user, Action.OPERATE, tenant),
        "other_catalog_issues": [
            {"issue": i, "cta": fix_link(i.error_type, catalog=i.catalog, tenant=tenant)}
            for i in summary.catalog_issues if i not in summary.blocking_issues
        ],
    }
    context["top_error_rows"] = [
        _top_error_row(group, tenant, catalog or (summary.catalogs[0] if summary.catalogs else None),
                       context["catalog_query"])
        for group in context["top_errors"]
    ]
    return TemplateResponse(request, "diagnostics/health.html", context)


def _top_error_row(group: health.TopError, tenant, catalog: Catalog | None, catalog_query: str) -> dict:
    """A top error with its drill-down link and the CTA to where it is fixed."""
    drill_url = f"{reverse('health:items')}?tenant={tenant.slug}&error={group.error_type.code}{catalog_query}"
    cta = None
    if group.error_type.fix_location != ErrorType.FixLocation.SHOPIFY_PRODUCT:
        cta = fix_link(group.error_type, catalog=catalog, tenant=tenant)
    elif group.error_type.help_url:
        cta = help_link(group.error_type)
    return {"group": group, "drill_url": drill_url, "cta": cta,
            "priority_label": Priority(group.priority).label if group.priority in Priority.values else ""}


def _item_filter(request: HttpRequest, tenant) -> tuple[listing.ItemFilter, Catalog | None]:
    catalog = pick_catalog(request, tenant)
    ids = [catalog.pk] if catalog else list(Catalog.objects.for_tenant(tenant).values_list("pk", flat=True))
    code = request.GET.get("error", "")
    error_type = get_object_or_404(ErrorType, code=code) if code else None
    return listing.ItemFilter.from_params(request.GET, ids, error_type), catalog


@login_required(login_url=LOGIN_URL)
def item_list(request: HttpRequest) -> HttpResponse:
    """Drill-down: items with a given status and/or open problem, 50 per page (keyset)."""
    tenant, tenants = pick_tenant(request)
    item_filter, catalog = _item_filter(request, tenant)
    after = request.GET.get("after", "")
    page = listing.item_page(tenant, item_filter, after=int(after) if after.isdigit() else 0)
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
        "query": query,
        "is_first_page": not after,
    }
    return TemplateResponse(request, "diagnostics/items.html", context)


@login_required(login_url=LOGIN_URL)
def export_items(request: HttpRequest) -> StreamingHttpResponse:
    """CSV of the filtered items (FAILED ones when no filter is given), streamed with flat memory."""
    tenant, _ = pick_tenant(request)
    item_filter, _ = _item_filter(request, tenant)
    if not (item_filter.status or item_filter.uses_issues or item_filter.q):
        item_filter = listing.ItemFilter(item_filter.catalog_ids, status=Variant.SyncStatus.FAILED)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(listing.export_rows(tenant, item_filter), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{tenant.slug}-items-{stamp}.csv"'
    return response


@login_required(login_url=LOGIN_URL)
def product_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Every variant's status and open problems with their fixes; Meta is asked live (cached)."""
    product = get_object_or_404(Product.objects.for_user(request.user).select_related("store", "tenant"), pk=pk)
    review, checked_at, check_error = live_item_check(product, force=request.GET.get("refresh") == "1")
    context = {
        "tenant": product.tenant,
        "tenants": [],
        "health": product_health(product, review=review, checked_at=checked_at, check_error=check_error),
        "product": product,
    }
    return TemplateResponse(request, "diagnostics/product.html", context)


def live_item_check(product: Product, *, force: bool = False) -> tuple[dict[str, str], object, str]:
    """Ask Meta for the product's items (cached); returns review statuses, when, and any error."""
    catalog = getattr(product.store, "catalog", None) if product.store_id else None
    if catalog is None or not catalog.meta_catalog_id:
        return {}, None, ""
    try:
        from .polling import refresh_item_errors
    except ImportError:  # the Graph client is not installed (sync engine not deployed)
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
        messages.success(request, "Checking with Meta now: refresh this page in a minute.")
    else:
        messages.info(request, "A check is already running: refresh this page in a minute.")
    return redirect(f"{reverse('health:index')}?tenant={tenant.slug}")
