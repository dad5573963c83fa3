"""Read-only admin for sync batches: what was sent to Meta, when, and how it went."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from catalog.models import SyncBatch

from .base import TenantRelatedOnlyFilter, TenantScopedAdmin


@admin.register(SyncBatch)
class SyncBatchAdmin(TenantScopedAdmin):
    """Batches are written by the sync engine only; staff look, never edit."""

    list_display = (
        "__str__",
        "catalog",
        "tenant",
        "kind",
        "state",
        "shard",
        "item_count",
        "error_count",
        "created_at",
        "finished_at",
    )
    list_filter = ("state", "kind", ("catalog", TenantRelatedOnlyFilter))
    list_select_related = ("tenant", "catalog")
    search_fields = ("=handle",)
    ordering = ("-pk",)
    readonly_fields = ("variants_link",)

    def get_fields(self, request, obj=None):
        return [f.name for f in SyncBatch._meta.fields if f.name != "id"] + ["variants_link"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Variants in flight")
    def variants_link(self, obj: SyncBatch) -> str:
        url = reverse("admin:catalog_variant_changelist") + f"?in_flight_batch__id__exact={obj.pk}"
        return format_html('<a href="{}">Variants still in this batch</a>', url)
