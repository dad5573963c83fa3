"""Admin for the outside connections: Shopify stores, Meta tokens and Meta catalogs.

Secrets (Shopify Admin API token, webhook secret, Meta catalog token) are write-only:
owners get a password field that keeps the stored value when left blank; pages show
``••••last4`` to owners and staff and only "stored" to viewers (``secret_hint``). They
are never in ``list_display``, ``search_fields``, a filter or an ordering. Changing
stores, tokens and catalogs is ``MANAGE_CONNECTION`` (owners); see ``catalog.permissions``.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from catalog.models import Catalog, MetaConnection, ShopifyStore, Variant, mask_secret
from catalog.sync import freshness, sharding
from galantis.queue import enqueue

from .base import (
    SecretFieldsForm,
    TenantRelatedOnlyFilter,
    TenantScopedAdmin,
    WriteOnlySecretField,
    https_formfield,
    secret_hint,
    status_count_badges,
)
from .connection import StoreCatalogFlowMixin, check_token_now, settings_link
from .progress import Progress, ProgressAdminMixin, progress_html, sync_progress
from .shopify import ShopifyIngestionMixin
from .sync_actions import full_resync, pause_sync, push_now, resume_sync, retry_failed


class ShopifyStoreForm(SecretFieldsForm):
    secret_fields = ("access_token", "webhook_secret")
    access_token = WriteOnlySecretField(label="Admin API access token")
    webhook_secret = WriteOnlySecretField(label="Webhook secret (app client secret)")

    class Meta:
        model = ShopifyStore
        fields = "__all__"
        formfield_callback = https_formfield


@admin.register(ShopifyStore)
class ShopifyStoreAdmin(ShopifyIngestionMixin, StoreCatalogFlowMixin, TenantScopedAdmin):
    form = ShopifyStoreForm
    secret_fields = ("access_token", "webhook_secret")
    list_display = (
        "shop_domain",
        "name",
        "tenant",
        "currency",
        "token",
        "connected_at",
        "products_link",
        "catalog_connection_link",
    )
    search_fields = ("shop_domain", "name")
    readonly_fields = ("token", "webhook_secret_hint", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("tenant", "shop_domain", "name", "currency", "primary_domain_url")}),
        (
            "Admin API",
            {
                "fields": (
                    "token",
                    "access_token",
                    "webhook_secret_hint",
                    "webhook_secret",
                    "admin_url",
                    "api_version",
                ),
                "description": "Secrets are stored encrypted and never shown again; only their last 4 characters.",
            },
        ),
        ("Lifecycle", {"fields": ("connected_at", "uninstalled_at", "created_at", "updated_at")}),
    )

    @admin.display(description="Access token")
    def token(self, obj: ShopifyStore) -> str:
        return secret_hint(obj, obj.token_hint)

    @admin.display(description="Webhook secret")
    def webhook_secret_hint(self, obj: ShopifyStore) -> str:
        return secret_hint(obj, mask_secret(obj.webhook_secret))

    @admin.display(description="Meta catalog")
    def catalog_connection_link(self, obj: ShopifyStore) -> str:
        url = reverse("admin:catalog_shopifystore_catalog_connection", args=[obj.pk])
        return format_html('<a href="{}">Import / create / link</a>', url)

    @admin.display(description="Products")
    def products_link(self, obj: ShopifyStore) -> str:
        url = reverse("admin:catalog_product_changelist") + f"?store__id__exact={obj.pk}"
        return format_html('<a href="{}">Products</a>', url)


class MetaConnectionForm(SecretFieldsForm):
    secret_fields = ("access_token",)
    access_token = WriteOnlySecretField(label="Catalog access token")

    class Meta:
        model = MetaConnection
        fields = "__all__"
        formfield_callback = https_formfield


@admin.register(MetaConnection)
class MetaConnectionAdmin(TenantScopedAdmin):
    form = MetaConnectionForm
    secret_fields = ("access_token",)
    actions = [check_token_now]
    list_display = ("__str__", "tenant", "business_id", "token", "token_status", "token_expires_at", "token_checked_at")
    list_filter = ("token_status",)
    search_fields = ("business_id",)
    readonly_fields = (
        "token",
        "settings_page",
        "token_status",
        "token_type",
        "token_scopes",
        "token_expires_at",
        "token_checked_at",
        "token_error",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("tenant", "business_id")}),
        (
            "Token",
            {
                "fields": ("token", "access_token", "settings_page"),
                "description": "Stored encrypted; only its last 4 characters are ever shown. A token saved here "
                "is checked with Meta right after saving; the settings page checks it before saving.",
            },
        ),
        (
            "Token health",
            {
                "fields": (
                    "token_status",
                    "token_type",
                    "token_scopes",
                    "token_expires_at",
                    "token_checked_at",
                    "token_error",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    # Not sortable: ordering by the last four characters would tell a viewer about them.
    @admin.display(description="Token")
    def token(self, obj: MetaConnection) -> str:
        return secret_hint(obj, obj.token_hint)

    @admin.display(description="Merchant page")
    def settings_page(self, obj: MetaConnection) -> str:
        return settings_link(obj.tenant) if obj.tenant_id else "—"

    def save_model(self, request, obj, form, change):
        # set_token keeps token_last4 in step and resets health until the token is checked.
        token_changed = "access_token" in form.changed_data
        if token_changed:
            obj.set_token(form.cleaned_data["access_token"])
        super().save_model(request, obj, form, change)
        if token_changed:
            # Checked with debug_token after the admin's transaction commits (never inside it).
            enqueue("catalog.tasks.check_meta_token", obj.pk, group=f"token:{obj.pk}")


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
                request, f"{wanted} shards requested: the change applies once the jobs in flight finish.",
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
            timing, fresh.calls_this_hour, fresh.quota, fresh.budget_used_pct,
        )

    @admin.display(description="Batches and uploads")
    def batches_link(self, obj: Catalog) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:catalog_syncbatch_changelist") + f"?catalog__id__exact={obj.pk}"
        return format_html('<a href="{}">Sync batches of this catalog</a>', url)
