"""Import reports of existing Meta catalogs and the Meta items Galantis deletes (replaced ids, chosen orphans)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from catalog.models import MetaItemDeletion, ReconciliationReport

from .base import ReadOnlyAdmin, TenantScopedAdmin


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(ReadOnlyAdmin):
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

    @admin.display(description="Report")
    def open_link(self, obj: ReconciliationReport) -> str:
        url = reverse("connection:report", args=[obj.pk]) + f"?tenant={obj.tenant.slug}"
        return format_html('<a href="{}">Open</a>', url)


@admin.register(MetaItemDeletion)
class MetaItemDeletionAdmin(TenantScopedAdmin):
    """Meta items Galantis deletes: replaced ids (previous_id) and unmatched items a merchant chose."""

    list_display = (
        "retailer_id",
        "tenant",
        "catalog",
        "reason",
        "state",
        "chosen_by",
        "created_at",
        "sent_at",
        "confirmed_at",
        "error",
    )
    list_filter = ("reason", "state")
    list_select_related = ("tenant", "catalog", "chosen_by")
    search_fields = ("=retailer_id",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
