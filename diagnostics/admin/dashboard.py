"""The staff sync dashboard and the per-catalog diagnostics page, as custom admin views.

Looking is ``VIEW``; the buttons (retry, re-poll, pause, resume) are ``OPERATE``, asked
for each catalog's own tenant (``catalog.permissions``).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from catalog.admin.base import TenantScopedAdmin, admin_page, object_view
from catalog.models import Catalog, SyncBatch
from catalog.permissions import Action, can
from catalog.sync import run
from diagnostics import charts, dashboard, health
from diagnostics.integration import INTEGRATION_TYPES
from diagnostics.models import CatalogHealth, DiagnosticsRun
from galantis.queue import enqueue

RECENT_ROWS = 20


@admin.register(CatalogHealth)
class CatalogHealthAdmin(TenantScopedAdmin):
    """The changelist is the cross-tenant dashboard; each catalog has a diagnostics page."""

    def get_queryset(self, request):
        # Catalog's manager scopes by tenant; staff see the catalogs of their tenants only.
        return Catalog.objects.for_user(request.user).select_related("tenant", "connection", "store")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            admin_page(self, "<int:pk>/diagnostics/", self.diagnostics_view, "diagnostics"),
            admin_page(self, "<int:pk>/diagnostics/action/", self.action_view, "action"),
        ] + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        catalogs = self.get_queryset(request)
        if tenant := request.GET.get("tenant"):
            catalogs = catalogs.filter(tenant__slug=tenant)
        board = dashboard.sync_dashboard(catalogs)
        for row in board.rows:
            row.can_act = can(request.user, Action.OPERATE, row.catalog)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Sync dashboard",
            "board": board,
            "totals": board.totals,
            "budget": dashboard.BATCH_CALLS_PER_HOUR,
            "blocking_codes": INTEGRATION_TYPES,
            "throughput_chart": charts.bar_chart(board.throughput, "items", title="Items synced per hour"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/diagnostics/cataloghealth/dashboard.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # No change form: the catalog's page is its diagnostics view (another tenant's is 404 here too).
        catalog = self.get_object(request, object_id)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        return HttpResponseRedirect(reverse("admin:diagnostics_cataloghealth_diagnostics", args=[catalog.pk]))

    @object_view(get=Action.VIEW)
    def diagnostics_view(self, request: HttpRequest, catalog: Catalog) -> HttpResponse:
        summary = health.summarise(catalog.tenant, catalog=catalog)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Diagnostics of {catalog}",
            "catalog": catalog,
            "summary": summary,
            "runs": DiagnosticsRun.objects.filter(catalog=catalog).order_by("-started_at")[:RECENT_ROWS],
            "batches": SyncBatch.objects.filter(catalog=catalog).order_by("-created_at")[:RECENT_ROWS],
            "status_chart": charts.line_chart(
                summary.trend, ["synced", "pending", "failed"], title="Products by sync status"
            ),
            "issues_chart": charts.line_chart(summary.trend, ["high", "medium", "low"], title="Open problems"),
            "throughput_chart": charts.bar_chart(
                dashboard.throughput([catalog.pk], timezone.now()), "items", title="Items synced per hour"
            ),
            "can_change": can(request.user, Action.OPERATE, catalog),
        }
        return TemplateResponse(request, "admin/diagnostics/cataloghealth/diagnostics.html", context)

    @object_view(post=Action.OPERATE)
    def action_view(self, request: HttpRequest, catalog: Catalog) -> HttpResponse:
        return _action(self, request, catalog)


def _action(model_admin: CatalogHealthAdmin, request: HttpRequest, catalog: Catalog) -> HttpResponse:
    """Retry failed items, re-poll diagnostics, pause or resume: enqueue work, never call Meta here."""
    action = request.POST.get("action", "")
    if action == "retry_failed":
        enqueue("diagnostics.tasks.retry_failed", catalog.pk, group=f"push:{catalog.pk}")
        model_admin.message_user(request, f"Queued a retry of the items Meta rejected in {catalog}.", messages.SUCCESS)
    elif action == "repoll":
        enqueue("diagnostics.tasks.poll_catalog", catalog.pk, group=f"diagnostics:{catalog.pk}")
        enqueue("diagnostics.tasks.poll_catalog_diagnostics", catalog.pk, group=f"diagnostics:{catalog.pk}")
        model_admin.message_user(request, f"Queued a diagnostics poll of {catalog}.", messages.SUCCESS)
    elif action == "pause":
        run.pause_by_staff(catalog, request.user, request.POST.get("reason", ""))
        model_admin.message_user(
            request, f"Sync of {catalog} is paused; changes keep collecting as PENDING.", messages.WARNING
        )
    elif action == "resume":
        run.resume_by_staff(catalog)
        model_admin.message_user(request, f"Sync of {catalog} resumed; a push is queued.", messages.SUCCESS)
    else:
        model_admin.message_user(request, "Unknown action.", messages.ERROR)
    back = request.POST.get("next", "")
    if not back.startswith("/admin/"):
        back = reverse("admin:diagnostics_cataloghealth_diagnostics", args=[catalog.pk])
    return HttpResponseRedirect(back)
