"""Read-only admin for sync batches: what was sent to Meta, when, and how it went; and the dead letters page."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.models import SyncBatch

from .base import TenantRelatedOnlyFilter, TenantScopedAdmin
from .dead_letters import DeadLettersMixin


@admin.register(SyncBatch)
class SyncBatchAdmin(DeadLettersMixin, TenantScopedAdmin):
    """Batches are written by the sync engine only; staff look, never edit (the dead letters page retries)."""

    list_display = (
        "__str__",
        "catalog",
        "tenant",
        "kind",
        "state",
        "shard",
        "item_count",
        "synced_count",
        "error_count",
        "stale_count",
        "created_at",
        "duration",
    )
    list_filter = ("state", "kind", ("catalog", TenantRelatedOnlyFilter))
    list_select_related = ("tenant", "catalog")
    search_fields = ("=handle",)
    ordering = ("-pk",)
    readonly_fields = ("variants_link", "errors_table", "duration")

    def get_fields(self, request, obj=None):
        hidden = {"id", "errors"}
        return [f.name for f in SyncBatch._meta.fields if f.name not in hidden] + [
            "duration",
            "errors_table",
            "variants_link",
        ]

    @admin.display(description="Errors from Meta")
    def errors_table(self, obj: SyncBatch) -> str:
        rows = [e for e in obj.errors or [] if isinstance(e, dict)]
        if not rows:
            return obj.error_message or "—"
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    e.get("line", ""),
                    e.get("id") or e.get("error_type", ""),
                    e.get("message") or e.get("summary") or e.get("description", ""),
                )
                for e in rows
            ),
        )
        return format_html(
            "{}<table><thead><tr><th>Line</th><th>Item / type</th><th>Message</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html("<p>{}</p>", obj.error_message) if obj.error_message else "",
            body,
        )

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
