"""Admin for Shopify ingestion: import runs, webhook events, and the store's connect/import tools.

Import runs and webhook events are written by the importer and the webhook endpoint
only: staff look at them (progress, counts, raw bodies) and may re-queue events. The
store admin gets a "Connect a Shopify store" form (the admin twin of
``connect_shopify``) and actions that queue imports.
"""

from __future__ import annotations

import contextlib
import json

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog import permissions
from catalog.models import ImportRun, Tenant, WebhookEvent
from catalog.permissions import Action
from catalog.shopify import webhooks
from catalog.shopify.connect import ConnectError, connect_store, webhook_callback_url
from catalog.shopify.importer import ImportAlreadyRunning, start_import
from galantis.queue import enqueue

from .base import TenantRelatedOnlyFilter, TenantScopedAdmin, any_tenant_view
from .display import humanize_duration
from .progress import Progress, ProgressAdminMixin, import_progress, progress_html

# Longest raw body shown on an event's page (the row keeps all of it).
BODY_PREVIEW_CHARS = 100_000


class ConnectStoreForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())
    shop_domain = forms.CharField(label="Shop domain", help_text="e.g. my-shop.myshopify.com")
    access_token = forms.CharField(
        label="Admin API access token", widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "size": 60})
    )
    webhook_secret = forms.CharField(
        label="Webhook secret (app client secret)",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "size": 60}),
    )
    admin_url = forms.CharField(
        label="Admin API base URL",
        required=False,
        help_text="Without version. Blank: https://{shop}/admin/api. The sandbox's admin_url for a sandbox shop.",
        widget=forms.TextInput(attrs={"size": 80}),
    )
    api_version = forms.CharField(label="API version", required=False, help_text="Blank: the default version.")

    def __init__(self, *args, tenants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants
        if tenants.count() == 1:
            self.fields["tenant"].initial = tenants.first()


def _queue_import(modeladmin, request, queryset, *, bulk: bool) -> None:
    queued, busy = 0, []
    for store in queryset.filter(uninstalled_at__isnull=True):
        try:
            run = start_import(
                store, mode=ImportRun.Mode.BULK if bulk else ImportRun.Mode.PAGED, trigger=ImportRun.Trigger.ADMIN
            )
        except ImportAlreadyRunning:
            busy.append(store.shop_domain)
            continue
        enqueue("catalog.tasks.run_shopify_import", run.pk, group=f"shopify-import:{store.pk}")
        queued += 1
    if queued:
        url = reverse("admin:catalog_importrun_changelist")
        modeladmin.message_user(
            request, format_html('Queued {} import(s); follow them in <a href="{}">Import runs</a>.', queued, url)
        )
    if busy:
        modeladmin.message_user(request, f"Already importing: {', '.join(busy)}.", messages.WARNING)


@admin.action(description="Import from Shopify now (paged)", permissions=["operate"])
def import_now(modeladmin, request, queryset):
    _queue_import(modeladmin, request, queryset, bulk=False)


@admin.action(description="Import from Shopify now (bulk operation, large stores)", permissions=["operate"])
def bulk_import_now(modeladmin, request, queryset):
    _queue_import(modeladmin, request, queryset, bulk=True)


@admin.action(description="Check token and re-register webhooks", permissions=["manage_connection"])
def recheck_connection(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    for store_id in ids:
        enqueue("catalog.tasks.recheck_shopify_store", store_id, group=f"shopify-connect:{store_id}")
    modeladmin.message_user(request, f"Queued a connection check for {len(ids)} store(s).")


class ShopifyIngestionMixin:
    """For ShopifyStoreAdmin: the connect form (``connect/``) and the import actions."""

    actions = (import_now, bulk_import_now, recheck_connection)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "connect/",
                self.admin_site.admin_view(self.connect_view),
                name=f"{info[0]}_{info[1]}_connect",
            ),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        if permissions.can_anywhere(request.user, Action.MANAGE_CONNECTION):
            extra_context = {**(extra_context or {}), "connect_url": reverse("admin:catalog_shopifystore_connect")}
        return super().changelist_view(request, extra_context=extra_context)

    @any_tenant_view(get=Action.MANAGE_CONNECTION, post=Action.MANAGE_CONNECTION)
    def connect_view(self, request: HttpRequest):
        """Connect (or reconnect) a store: a real ``shop`` query checks the token first.

        Only tenants the user may manage the connections of are offered; whether the shop
        is already another tenant's is told only after the token proved access to the shop.
        """
        tenants = permissions.allowed_tenants(request.user, Action.MANAGE_CONNECTION)
        form = ConnectStoreForm(request.POST or None, tenants=tenants)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = connect_store(
                    data["tenant"],
                    data["shop_domain"],
                    data["access_token"],
                    data["webhook_secret"],
                    admin_url=data["admin_url"],
                    api_version=data["api_version"],
                )
            except ConnectError as exc:
                form.add_error(None, str(exc))
            else:
                store = result.store
                self.message_user(
                    request,
                    f"Connected {store.shop_domain} ({store.name}, {store.currency}); webhooks: "
                    f"{len(result.subscriptions_created)} created, "
                    f"{len(result.subscriptions_existing)} already present.",
                    messages.SUCCESS,
                )
                for topic, error in result.subscriptions_failed.items():
                    self.message_user(request, f"Webhook {topic} failed: {error}", messages.ERROR)
                return HttpResponseRedirect(reverse("admin:catalog_shopifystore_change", args=[store.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Connect a Shopify store",
            "form": form,
            "callback_url": webhook_callback_url(),
        }
        return TemplateResponse(request, "admin/catalog/shopifystore/connect.html", context)


@admin.register(ImportRun)
class ImportRunAdmin(ProgressAdminMixin, TenantScopedAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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
