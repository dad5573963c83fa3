"""Settings → WhatsApp Connection: thin views over ``catalog.connection`` services."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from catalog.meta.errors import GraphAPIError
from catalog.models import (
    Catalog,
    MetaConnection,
    MetaOnboarding,
    ReconciliationReport,
    ReconciliationRow,
    ShopifyStore,
    Variant,
)
from galantis.logredact import redact

from . import access, catalogs, flows, onboarding, reconcile, token_health
from .catalogs import CatalogInfo
from .forms import ApplyReportForm, ChooseCatalogForm, PixelForm, TokenForm

REPORT_PAGE_SIZE = 50


def _redirect(name: str, tenant, **kwargs) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(name, kwargs=kwargs or None)}?{urlencode({'tenant': tenant.slug})}")


def _store(request: HttpRequest, tenant) -> ShopifyStore | None:
    stores = ShopifyStore.objects.for_tenant(tenant).order_by("shop_domain")
    wanted = request.GET.get("store") or request.POST.get("store")
    if wanted:
        return get_object_or_404(stores, pk=wanted) if str(wanted).isdigit() else None
    return stores.first()


def _page_context(request: HttpRequest, who: access.Access, **extra) -> dict:
    tenant = who.tenant
    connection = MetaConnection.objects.for_tenant(tenant).first()
    store = _store(request, tenant)
    catalog = flows.current_catalog(store, tenant) if store else None
    available = [CatalogInfo.from_dict(c) for c in (connection.available_catalogs if connection else [])]
    if catalog and catalog.meta_catalog_id and all(info.id != catalog.meta_catalog_id for info in available):
        # The list is a snapshot (re-read daily and on "Refresh the list"); the connected catalog is
        # always offered, never "this token reaches no catalog" beside it.
        available.insert(
            0,
            CatalogInfo(
                id=catalog.meta_catalog_id,
                name=catalog.name,
                product_count=None,
                cta=catalog.commerce_cta,
                commerce_settings_id=catalog.commerce_settings_id,
                vertical="commerce",
            ),
        )
    report = ReconciliationReport.objects.for_tenant(tenant).latest_for(catalog) if catalog else None
    counts = Variant.objects.for_tenant(tenant).filter(catalog=catalog).status_counts() if catalog else {}
    choose_initial = {"store": store.pk if store else None}
    if catalog and catalog.flow != Catalog.Flow.CREATE:
        choose_initial.update(flow=catalog.flow, catalog_id=catalog.meta_catalog_id)
    return {
        "tenant": tenant,
        "can_manage": who.can_manage,
        "connection": connection,
        "health": token_health.summary(tenant),
        "stores": ShopifyStore.objects.for_tenant(tenant).order_by("shop_domain"),
        "store": store,
        "catalog": catalog,
        "available": available,
        "report": report,
        "counts": counts,
        "checks": catalogs.checks_for(catalog) if catalog else [],
        "token_form": extra.pop("token_form", None) or TokenForm(),
        "choose_form": extra.pop("choose_form", None) or ChooseCatalogForm(tenant=tenant, initial=choose_initial),
        "pixel_form": extra.pop("pixel_form", None) or PixelForm(),
        "flows": Catalog.Flow,
        "onboardings": list(onboarding.pending_for(tenant)[:10]),
        **extra,
    }


@login_required
@require_GET
def whatsapp_settings(request: HttpRequest) -> HttpResponse:
    """The WhatsApp Connection page: token, catalogs, flow, checks and the latest report."""
    who = access.resolve(request)
    return render(request, "connection/whatsapp.html", _page_context(request, who))


@login_required
@require_POST
def save_token(request: HttpRequest) -> HttpResponse:
    """Verify a pasted token with Meta and store it; the old one stays on any failure."""
    who = access.resolve(request, manage=True)
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            connection = flows.connect_token(
                who.tenant, token=form.cleaned_data["access_token"], business_id=form.cleaned_data["business_id"]
            )
        except flows.FlowError as exc:
            form.add_error("access_token", redact(str(exc)))
        else:
            found = len(connection.available_catalogs)
            messages.success(
                request,
                ngettext(
                    "Token %(hint)s saved: %(status)s; %(count)d catalog reachable.",
                    "Token %(hint)s saved: %(status)s; %(count)d catalogs reachable.",
                    found,
                )
                % {
                    "hint": connection.token_hint,
                    "status": connection.get_token_status_display().lower(),
                    "count": found,
                },
            )
            return _redirect("connection:whatsapp", who.tenant)
    # The bound form re-renders safely: its PasswordInput never renders the submitted token.
    return render(request, "connection/whatsapp.html", _page_context(request, who, token_form=form), status=400)


@login_required
@require_POST
def check_token_now(request: HttpRequest) -> HttpResponse:
    """Re-check the stored token with debug_token now."""
    who = access.resolve(request, manage=True)
    connection = MetaConnection.objects.for_tenant(who.tenant).first()
    if connection is None or not connection.token_last4:
        messages.error(request, _("No token is stored yet."))
    else:
        status = token_health.check_token(connection)
        summary = token_health.summary(who.tenant)
        level = messages.SUCCESS if summary["level"] == "ok" else messages.WARNING
        if connection.token_error and status == connection.token_status and summary["level"] != "error":
            messages.add_message(request, level, f"{summary['message']} {connection.token_error}")
        else:
            messages.add_message(request, level, summary["message"])
    return _redirect("connection:whatsapp", who.tenant)


@login_required
@require_POST
def refresh_catalogs(request: HttpRequest) -> HttpResponse:
    """Re-list the catalogs the token can reach."""
    who = access.resolve(request, manage=True)
    try:
        found = flows.refresh_catalog_list(flows.require_connection(who.tenant))
    except flows.FlowError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d catalog reachable with this token.",
                "%(count)d catalogs reachable with this token.",
                len(found),
            )
            % {"count": len(found)},
        )
    return _redirect("connection:whatsapp", who.tenant)


@login_required
@require_POST
def choose_catalog(request: HttpRequest) -> HttpResponse:
    """Import, link or create a catalog; replacing the current one asks for confirmation first."""
    who = access.resolve(request, manage=True)
    form = ChooseCatalogForm(request.POST, tenant=who.tenant)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _redirect("connection:whatsapp", who.tenant)
    data = form.cleaned_data
    try:
        catalog = flows.choose_catalog(who.tenant, store=data["store"], user=request.user, **form.flow_arguments())
    except flows.ConfirmationRequired as exc:
        return render(
            request,
            "connection/confirm_switch.html",
            {
                "tenant": who.tenant,
                "plan": exc.plan,
                "data": data,
                "store": data["store"],
            },
        )
    except flows.FlowError as exc:
        messages.error(request, str(exc))
        return _redirect("connection:whatsapp", who.tenant)
    if catalog.flow == Catalog.Flow.IMPORT:
        messages.success(
            request, _("Reading “%(name)s”: review the report below before enabling sync.") % {"name": catalog.name}
        )
    elif catalog.flow == Catalog.Flow.LINK:
        messages.success(
            request,
            _("“%(name)s” linked read-only: Galantis maps its items and never writes.") % {"name": catalog.name},
        )
    else:
        messages.success(
            request, _("Catalog “%(name)s” created; every eligible variant is queued for it.") % {"name": catalog.name}
        )
    return _redirect("connection:whatsapp", who.tenant)


def _tenant_catalog(who: access.Access, pk: int) -> Catalog:
    return get_object_or_404(Catalog.objects.for_tenant(who.tenant).select_related("connection"), pk=pk)


@login_required
@require_POST
def rerun_checks(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-read the catalog's commerce settings and event sources."""
    who = access.resolve(request, manage=True)
    catalog = catalogs.refresh_checks(_tenant_catalog(who, pk))
    if catalog.checks_error:
        messages.error(request, catalog.checks_error)
    else:
        messages.success(request, _("Pixel and commerce checks updated."))
    return _redirect("connection:whatsapp", who.tenant)


@login_required
@require_POST
def connect_pixel(request: HttpRequest, pk: int) -> HttpResponse:
    """Connect the store's pixel to the catalog as an event source."""
    who = access.resolve(request, manage=True)
    catalog = _tenant_catalog(who, pk)
    form = PixelForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("pixel_id", [_("Enter a pixel id.")])))
        return _redirect("connection:whatsapp", who.tenant)
    try:
        catalogs.connect_pixel(catalog, form.cleaned_data["pixel_id"])
    except catalogs.ReadOnlyCatalog as exc:
        messages.error(request, str(exc))
    except GraphAPIError as exc:
        messages.error(request, flows._graph_failure(exc, "connect_pixel").args[0])
    else:
        messages.success(
            request, _("Pixel %(pixel)s connected as an event source.") % {"pixel": form.cleaned_data["pixel_id"]}
        )
    return _redirect("connection:whatsapp", who.tenant)


@login_required
@require_POST
def reread_catalog(request: HttpRequest, pk: int) -> HttpResponse:
    """Read an imported or linked catalog again (a fresh report)."""
    who = access.resolve(request, manage=True)
    catalog = _tenant_catalog(who, pk)
    if catalog.flow == Catalog.Flow.CREATE or catalog.store_id is None:
        messages.error(request, _("Only an imported or linked catalog is read back."))
    else:
        reconcile.start_report(catalog, purpose=catalog.flow, user=request.user)
        messages.success(request, _("Reading “%(name)s” again.") % {"name": catalog.name})
    return _redirect("connection:whatsapp", who.tenant)


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The reconciliation report, by category, and (for an import) the go that enables sync."""
    who = access.resolve(request, manage=request.method == "POST")
    report = get_object_or_404(
        ReconciliationReport.objects.for_tenant(who.tenant).select_related(
            "catalog", "applied_by", "delete_unmatched_chosen_by"
        ),
        pk=pk,
    )
    form = ApplyReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reconcile.confirm_import(report, user=request.user, delete_unmatched=form.cleaned_data["delete_unmatched"])
        except reconcile.ReportNotApplicable as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Sync enabled: Galantis now keeps this catalog in line with Shopify."))
            return _redirect("connection:whatsapp", who.tenant)
    kind = request.GET.get("kind", "")
    rows = ReconciliationRow.objects.filter(report=report).select_related("variant", "variant__product")
    if kind in ReconciliationRow.Kind.values:
        rows = rows.filter(kind=kind)
    page = Paginator(rows.order_by("pk"), REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "connection/report.html",
        {
            "tenant": who.tenant,
            "can_manage": who.can_manage,
            "report": report,
            "is_current": reconcile.is_current(report),
            "kind": kind,
            "kinds": ReconciliationRow.Kind,
            "page": page,
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def confirm_onboarding(request: HttpRequest, pk: int) -> HttpResponse:
    """Connect the catalog Meta's onboarding webhook announced, by the import or link flow."""
    who = access.resolve(request, manage=True)
    item = get_object_or_404(onboarding.pending_for(who.tenant), pk=pk)
    flow = request.POST.get("flow") or Catalog.Flow.IMPORT
    try:
        catalog, notes = onboarding.confirm(
            item,
            store=_store(request, who.tenant),
            flow=flow,
            user=request.user,
            confirmed=request.POST.get("confirm") == "True",
        )
    except flows.ConfirmationRequired as exc:
        return render(
            request,
            "connection/confirm_onboarding.html",
            {
                "tenant": who.tenant,
                "plan": exc.plan,
                "item": item,
                "flow": flow,
                "store": _store(request, who.tenant),
            },
        )
    except flows.FlowError as exc:
        messages.error(request, str(exc))
        return _redirect("connection:whatsapp", who.tenant)
    messages.success(
        request,
        " ".join(
            [
                _("“%(name)s” connected (%(flow)s).")
                % {"name": catalog.name, "flow": catalog.get_flow_display().lower()},
                *notes,
            ]
        ),
    )
    return _redirect("connection:whatsapp", who.tenant)


@login_required
@require_POST
def dismiss_onboarding(request: HttpRequest, pk: int) -> HttpResponse:
    """Set aside a catalog Meta's onboarding webhook announced; nothing is connected."""
    who = access.resolve(request, manage=True)
    item = get_object_or_404(MetaOnboarding.objects.for_tenant(who.tenant), pk=pk)
    if onboarding.dismiss(item, user=request.user):
        messages.success(
            request, _("Catalog %(id)s dismissed; nothing was connected.") % {"id": item.meta_catalog_id or "—"}
        )
    return _redirect("connection:whatsapp", who.tenant)
