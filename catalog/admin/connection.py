"""Admin side of the WhatsApp Connection: choose a store's catalog flow, reports, deletions, token banner.

The admin calls the same services as the settings page (``catalog.connection``), under
the same rules (``catalog.permissions``): owners and staff see the page
(``SEE_CONNECTION``), owners (and superusers) choose or switch the catalog
(``MANAGE_CONNECTION``), viewers get neither. Meta is never called inside the admin's
change-form transaction: the flow view is a plain admin view.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog.connection import flows, token_health
from catalog.connection.catalogs import CatalogInfo
from catalog.connection.forms import ChooseCatalogForm
from catalog.models import Catalog, MetaConnection, MetaItemDeletion, ReconciliationReport, ShopifyStore
from catalog.permissions import Action, can
from galantis.queue import enqueue

from .base import TenantScopedAdmin, object_view


def settings_link(tenant) -> str:
    return format_html('<a href="{}">Settings → WhatsApp Connection</a>', token_health.settings_url(tenant))


class StoreCatalogFlowMixin:
    """Adds ``<store>/catalog-connection/``: pick import / create / link for the store's catalog."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<int:pk>/catalog-connection/",
                self.admin_site.admin_view(self.catalog_connection_view),
                name=f"{info[0]}_{info[1]}_catalog_connection",
            ),
        ] + super().get_urls()

    @object_view(get=Action.SEE_CONNECTION, post=Action.MANAGE_CONNECTION)
    def catalog_connection_view(self, request: HttpRequest, store: ShopifyStore):
        owner = can(request.user, Action.MANAGE_CONNECTION, store)
        connection = MetaConnection.objects.for_tenant(store.tenant_id).first()
        current = flows.current_catalog(store, store.tenant)
        plan = None
        form = ChooseCatalogForm(
            tenant=store.tenant,
            initial={
                "store": store.pk,
                "flow": current.flow if current else Catalog.Flow.IMPORT,
                "catalog_id": current.meta_catalog_id if current else "",
            },
        )
        if request.method == "POST":
            form = ChooseCatalogForm(request.POST, tenant=store.tenant)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    catalog = flows.choose_catalog(
                        store.tenant,
                        store=store,
                        flow=data["flow"],
                        catalog_id=data.get("catalog_id") or "",
                        create_name=data.get("create_name") or "",
                        user=request.user,
                        confirmed=data.get("confirm", False),
                    )
                except flows.ConfirmationRequired as exc:
                    plan = exc.plan
                except flows.FlowError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                else:
                    self.message_user(
                        request, f"{store} now uses “{catalog.name}” ({catalog.get_flow_display()}).", messages.SUCCESS
                    )
                    return HttpResponseRedirect(reverse("admin:catalog_catalog_change", args=[catalog.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": store,
            "title": f"Catalog connection of {store}",
            "store": store,
            "connection": connection,
            "health": token_health.summary(store.tenant),
            "current": current,
            "available": [CatalogInfo.from_dict(c) for c in (connection.available_catalogs if connection else [])],
            "form": form,
            "plan": plan,
            "can_change": owner,
            "settings_url": token_health.settings_url(store.tenant),
        }
        return TemplateResponse(request, "admin/catalog/shopifystore/catalog_connection.html", context)


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(TenantScopedAdmin):
    """Import / link reports: read-only here; the merchant reviews and applies them on the settings page."""

    list_display = (
        "__str__",
        "tenant",
        "catalog",
        "purpose",
        "state",
        "meta_items_read",
        "matched",
        "different",
        "id_changed",
        "meta_only",
        "missing_in_meta",
        "created_at",
        "applied_by",
        "open_link",
    )
    list_filter = ("state", "purpose")
    list_select_related = ("tenant", "catalog", "applied_by")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Report")
    def open_link(self, obj: ReconciliationReport) -> str:
        url = reverse("connection:report", args=[obj.pk]) + f"?tenant={obj.tenant.slug}"
        return format_html('<a href="{}">Open</a>', url)


@admin.register(MetaItemDeletion)
class MetaItemDeletionAdmin(TenantScopedAdmin):
    """Meta items Galantis deletes: replaced ids (previous_id) and unmatched items a merchant chose."""

    list_display = (
        "retailer_id", "tenant", "catalog", "reason", "state", "chosen_by", "created_at", "sent_at", "confirmed_at",
        "error",
    )
    list_filter = ("reason", "state")
    list_select_related = ("tenant", "catalog", "chosen_by")
    search_fields = ("=retailer_id",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.action(description="Check the Meta token now (debug_token)", permissions=["manage_connection"])
def check_token_now(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    for connection_id in ids:
        enqueue("catalog.tasks.check_meta_token", connection_id, group=f"token:{connection_id}")
    modeladmin.message_user(request, f"Queued a token check for {len(ids)} connection(s).", messages.SUCCESS)


def token_warnings(request: HttpRequest) -> list[dict]:
    """Token warnings for the admin index banner (tenants where the user may see the connection)."""
    return token_health.warnings_for_user(request.user)
