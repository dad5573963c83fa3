"""What Shopify sent: import runs and webhook events (written by the importer and the webhook endpoint only).

Staff look at them (progress, counts, raw bodies) and may re-queue events.
"""

from __future__ import annotations

import contextlib
import json

from django.contrib import admin, messages
from django.utils.html import format_html

from catalog.models import ImportRun, WebhookEvent
from catalog.shopify import webhooks

from .base import ReadOnlyAdmin, TenantRelatedOnlyFilter, TenantScopedAdmin
from .display import humanize_duration
from .progress import Progress, ProgressAdminMixin, import_progress, progress_html

# Longest raw body shown on an event's page (the row keeps all of it).
BODY_PREVIEW_CHARS = 100_000


@admin.register(ImportRun)
class ImportRunAdmin(ProgressAdminMixin, ReadOnlyAdmin):
    """One row per import: live progress while it runs (polled, no reload), counts when it ends."""

    class Media:
        js = (ProgressAdminMixin.progress_js,)

    # State and progress first; mode, trigger and the per-kind counts are on the run's page.
    list_display = ("run", "state", "progress", "store", "started_at", "duration", "tenant")
    list_filter = ("state", "mode", "trigger", ("store", TenantRelatedOnlyFilter))
    list_select_related = ("tenant", "store")
    ordering = ("-pk",)
    fieldsets = (
        (None, {"fields": ("tenant", "store", "mode", "trigger", "state", "progress", "error")}),
        (
            "Counts",
            {
                "fields": (
                    ("products_seen", "products_total"),
                    ("products_created", "products_updated", "products_removed"),
                    ("variants_seen", "variants_created", "variants_updated", "variants_removed"),
                    "variants_changed",
                    "collections_seen",
                )
            },
        ),
        (
            "Timing",
            {"fields": ("created_at", "started_at", "heartbeat_at", "finished_at", "duration", "updated_since")},
        ),
        ("Bulk operation", {"fields": ("bulk_operation_id",)}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ImportRun._meta.fields] + ["progress", "duration"]

    @admin.display(description="Progress")
    def progress(self, obj: ImportRun) -> str:
        return progress_html(import_progress(obj), self.progress_url(obj))

    def progress_of(self, obj: ImportRun) -> Progress:
        return import_progress(obj)

    @admin.display(description="Import", ordering="pk")
    def run(self, obj: ImportRun) -> str:
        return f"#{obj.pk} {obj.get_mode_display().split(' (')[0]}"

    @admin.display(description="Removed")
    def removed(self, obj: ImportRun) -> str:
        return f"{obj.products_removed} products, {obj.variants_removed} variants"

    @admin.display(description="Duration")
    def duration(self, obj: ImportRun) -> str:
        return humanize_duration(obj.duration)


@admin.action(description="Reprocess the selected events", permissions=["operate"])
def reprocess_events(modeladmin, request, queryset):
    count = webhooks.reprocess(queryset)
    modeladmin.message_user(request, f"Queued {count} event(s) for processing.", messages.SUCCESS)


@admin.register(WebhookEvent)
class WebhookEventAdmin(TenantScopedAdmin):
    """Every delivery as received (raw body kept); failed ones can be re-queued."""

    # State and topic first; ids and attempts are on the event's page.
    list_display = ("received_at", "state", "topic", "short_error", "store", "tenant")
    list_filter = ("state", ("store", TenantRelatedOnlyFilter))
    list_select_related = ("tenant", "store")
    search_fields = ("=event_id", "=webhook_id", "=topic")
    ordering = ("-pk",)
    actions = (reprocess_events,)
    fieldsets = (
        (None, {"fields": ("tenant", "store", "topic", "state", "error", "attempts")}),
        (
            "Delivery",
            {
                "fields": (
                    "event_id",
                    "webhook_id",
                    "api_version",
                    "triggered_at",
                    "received_at",
                    "claimed_at",
                    "processed_at",
                    "headers_table",
                )
            },
        ),
        ("Body", {"fields": ("pretty_body",)}),
    )

    def get_queryset(self, request):
        # Bodies can be megabytes: the list never loads them.
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            queryset = queryset.defer("body")
        return queryset

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in WebhookEvent._meta.fields] + ["headers_table", "pretty_body"]

    @admin.display(description="Error / note")
    def short_error(self, obj: WebhookEvent) -> str:
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error

    @admin.display(description="Headers")
    def headers_table(self, obj: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.headers or {}, indent=2, sort_keys=True))

    @admin.display(description="Body")
    def pretty_body(self, obj: WebhookEvent) -> str:
        text = obj.body_text
        with contextlib.suppress(ValueError):  # malformed bodies are shown as received
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        if len(text) > BODY_PREVIEW_CHARS:
            text = text[:BODY_PREVIEW_CHARS] + f"\n… ({len(text) - BODY_PREVIEW_CHARS} more characters)"
        return format_html('<pre style="max-height:40em;overflow:auto">{}</pre>', text)
