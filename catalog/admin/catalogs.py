"""The Meta catalog admin: ingestion plan, sync state and progress, and the sync actions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from catalog.models import Catalog, Variant
from catalog.sync import freshness, sharding

from .base import (
    TenantRelatedOnlyFilter,
    TenantScopedAdmin,
    status_count_badges,
)
from .meta_connections import settings_link
from .progress import Progress, ProgressAdminMixin, progress_html, sync_progress
from .sync_actions import full_resync, pause_sync, push_now, resume_sync, retry_failed


@admin.register(Catalog)
class CatalogAdmin(ProgressAdminMixin, TenantScopedAdmin):
    class Media:
        js = (ProgressAdminMixin.progress_js,)

    # The sync's state next to the name; the Meta id and the store are on the catalog's page.
    list_display = ("name", "sync_state", "flow", "last_sync_at", "tenant")
    list_filter = ("flow", "sync_enabled", "pause_kind", ("store", TenantRelatedOnlyFilter))
    list_select_related = ("tenant", "store")
    search_fields = ("name", "=meta_catalog_id")
    actions = (push_now, full_resync, retry_failed, pause_sync, resume_sync)
    readonly_fields = (
        "sync_state",
        "sync_progress",
        "status_summary",
        "push_freshness",
        "batches_link",
        "pause_kind",
        "paused_at",
        "paused_until",
        "last_full_sync_at",
        "last_replace_feed_at",
        "last_update_feed_at",
        "last_sync_at",
        "reshard_to",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("tenant", "name", "store", "connection", "flow")}),
        ("Meta", {"fields": ("meta_catalog_id", "commerce_cta", "pixel_id", "feed_id", "meta_shop_id")}),
        (
            "Sync",
            {
                "fields": (
                    "sync_enabled",
                    "sync_state",
                    "sync_progress",
                    "pause_kind",
                    "paused_reason",
                    "paused_at",
                    "paused_until",
                    "status_summary",
                    "push_freshness",
                    "batches_link",
                    "last_full_sync_at",
                    "last_replace_feed_at",
                    "last_update_feed_at",
                    "last_sync_at",
                )
            },
        ),
        (
            "Ingestion plan",
            {
                "fields": (
                    "update_frequency",
                    "delta_method",
                    "replace_feed_interval",
                    "update_feed_interval",
                    "max_batch_size",
                    "auto_shard",
                    "shard_count",
                    "reshard_to",
                    "batch_creation",
                    "new_item_latency",
                    "delete_grace_days",
                ),
                "description": "Meta's table: a primary replace feed per shard every hour (daily for shops "
                "updated daily); faster-than-hourly shops also send changes by the Batch API (or update "
                "feeds every 15 minutes). New items are created by a feed. The shard count follows the "
                "catalog's size unless automatic sharding is off; a new count applies once the jobs in "
                "flight have finished, and each shard's feed then lists its items once before any "
                "replace feed deletes again.",
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("connection")

    def save_model(self, request, obj, form, change):
        """A new shard count is requested, never written: the catalog drains first (catalog.sync.sharding)."""
        wanted = obj.shard_count
        if change and "shard_count" in form.changed_data:
            obj.shard_count = form.initial["shard_count"]
            obj.auto_shard = False  # a count chosen by staff stays (the sweeper would follow the size)
        super().save_model(request, obj, form, change)
        if change and "shard_count" in form.changed_data and sharding.request(obj, wanted):
            self.message_user(
                request,
                f"{wanted} shards requested: the change applies once the jobs in flight finish.",
                messages.INFO,
            )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Switching catalog or flow must go through the confirmed, all-or-nothing flow change.
            readonly += [f for f in ("store", "connection", "flow", "meta_catalog_id") if f not in readonly]
            readonly.append("flow_change_link")
        return readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": (*options["fields"], "flow_change_link")}), *rest]

    @admin.display(description="Change catalog or flow")
    def flow_change_link(self, obj: Catalog) -> str:
        if obj.store_id is None:
            return "—"
        url = reverse("admin:catalog_shopifystore_catalog_connection", args=[obj.store_id])
        return format_html('<a href="{}">Import / create / link…</a> · {}', url, settings_link(obj.tenant))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The banner: a paused catalog says why on its own page.
        if object_id and request.method == "GET":
            catalog = self.get_object(request, object_id)
            if catalog is not None and catalog.pause_kind:
                messages.warning(request, f"Sync paused ({catalog.get_pause_kind_display()}): {catalog.paused_reason}")
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description="Sync")
    def sync_state(self, obj: Catalog) -> str:
        if obj.is_read_only:
            return format_html('<span title="{}">read-only</span>', "Linked catalog: never written")
        if not obj.sync_enabled:
            return "off"
        if obj.pause_kind:
            return format_html(
                '<span class="meta-badge meta-badge-failed" title="{}">PAUSED: {}</span>',
                obj.paused_reason,
                obj.get_pause_kind_display(),
            )
        return format_html('<span class="meta-badge meta-badge-synced">{}</span>', "ACTIVE")

    @admin.display(description="Sync progress")
    def sync_progress(self, obj: Catalog) -> str:
        """Variants sent of all, and the time left at the recent pace; updates itself while work waits."""
        if obj.pk is None:
            return "—"
        return progress_html(sync_progress(obj), self.progress_url(obj))

    def progress_of(self, obj: Catalog) -> Progress:
        return sync_progress(obj)

    @admin.display(description="Variants in Meta")
    def status_summary(self, obj: Catalog) -> str:
        if obj.pk is None:
            return "—"
        counts = Variant.objects.filter(catalog=obj).status_counts()
        return status_count_badges(counts, f"catalog__id__exact={obj.pk}")

    @admin.display(description="Freshness (last hour)")
    def push_freshness(self, obj: Catalog) -> str:
        """Change -> sent / confirmed p95 of the last hour and the Batch API calls spent (issue 22)."""
        if obj.pk is None:
            return "—"
        fresh = freshness.summarise(obj)
        if fresh.sent_p95 is None:
            timing = "no change pushed in the last hour"
        else:
            confirmed = f"{fresh.confirmed_p95} s" if fresh.confirmed_p95 is not None else "not yet"
            timing = f"change → sent {fresh.sent_p95} s, → confirmed {confirmed} (p95 of {fresh.samples} calls)"
        return format_html(
            "{}; Batch API calls this hour: {} of {} ({}%)",
            timing,
            fresh.calls_this_hour,
            fresh.quota,
            fresh.budget_used_pct,
        )

    @admin.display(description="Batches and uploads")
    def batches_link(self, obj: Catalog) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:catalog_syncbatch_changelist") + f"?catalog__id__exact={obj.pk}"
        return format_html('<a href="{}">Sync batches of this catalog</a>', url)
