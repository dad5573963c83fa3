"""Sandbox pages in the admin: watch received batches (with their per-line errors), items,
feeds and uploads, Conversions API events, and set faults. Registered only when the
sandbox is enabled."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from . import faults
from .graph import work
from .models import (
    AccessToken,
    Business,
    CommerceMerchantSettings,
    FaultProfile,
    FeedUpload,
    FeedUploadError,
    ItemsBatch,
    Pixel,
    ProductCatalog,
    ProductFeed,
    ProductItem,
    ProductSet,
    ServerEvent,
)

ISSUE_ROWS_SHOWN = 200
REQUEST_LINES_SHOWN = 20


def _issue_table(rows: list[dict]) -> str:
    if not rows:
        return "—"
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((row["line"], row["id"], row.get("priority", ""), row["message"]) for row in rows[:ISSUE_ROWS_SHOWN]),
    )
    more = f"<p>… and {len(rows) - ISSUE_ROWS_SHOWN} more</p>" if len(rows) > ISSUE_ROWS_SHOWN else ""
    return format_html(
        "<table><thead><tr><th>Line</th><th>Id</th><th>Priority</th><th>Message</th></tr></thead>"
        "<tbody>{}</tbody></table>{}",
        body,
        format_html(more) if more else "",
    )


class SandboxAdmin(admin.ModelAdmin):
    show_full_result_count = False  # no second COUNT(*) on big sandbox tables


class CommerceSettingsInline(admin.StackedInline):
    model = CommerceMerchantSettings
    extra = 0


@admin.action(description="Process due batches and feed uploads now")
def process_due_now(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    for catalog in queryset:
        work.catch_up(catalog, timezone.now())
    modeladmin.message_user(request, f"Caught up {queryset.count()} catalog(s).", messages.SUCCESS)


@admin.action(description="Simulate a rate limit (80014 / 80009)")
def rate_limit(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    for catalog in queryset:
        faults.configure(catalog_id=catalog, rate_limited=True)
    modeladmin.message_user(request, "Rate limited.", messages.WARNING)


@admin.action(description="Simulate an outage (503, code 2)")
def outage(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    for catalog in queryset:
        faults.configure(catalog_id=catalog, outage=True)
    modeladmin.message_user(request, "Outage switched on.", messages.WARNING)


@admin.action(description="Clear faults")
def clear_faults(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    for catalog in queryset:
        faults.reset(catalog_id=catalog)
    modeladmin.message_user(request, "Faults cleared.", messages.SUCCESS)


class ProductCatalogAdmin(SandboxAdmin):
    list_display = ("name", "graph_id", "business", "vertical", "created_at")
    list_select_related = ("business",)
    search_fields = ("name",)
    readonly_fields = ("graph_id",)
    inlines = [CommerceSettingsInline]
    actions = [process_due_now, rate_limit, outage, clear_faults]
    filter_horizontal = ("external_event_sources",)

    @admin.display(description="Graph id")
    def graph_id(self, obj: ProductCatalog) -> str:
        return obj.fbid


class ProductItemAdmin(SandboxAdmin):
    list_display = ("retailer_id", "title", "catalog", "availability", "price_display", "review_status", "error_list")
    list_filter = ("review_status", "availability", "visibility", "image_fetch_status")
    list_select_related = ("catalog",)
    search_fields = ("retailer_id", "title")
    readonly_fields = ("graph_id", "errors", "error_keys", "created_at", "updated_at")
    raw_id_fields = ("catalog", "group", "feed")

    @admin.display(description="Graph id")
    def graph_id(self, obj: ProductItem) -> str:
        return obj.fbid

    @admin.display(description="Price")
    def price_display(self, obj: ProductItem) -> str:
        return obj.data.get("price", "")

    @admin.display(description="Diagnostics")
    def error_list(self, obj: ProductItem) -> str:
        return ", ".join(f"{e['error_priority']}:{e['error_type']}" for e in obj.errors) or "—"


class ItemsBatchAdmin(SandboxAdmin):
    list_display = ("pk", "catalog", "status", "request_count", "error_count", "warning_count", "created_at")
    list_filter = ("status",)
    list_select_related = ("catalog",)
    search_fields = ("handle",)
    exclude = ("requests", "errors", "warnings")
    readonly_fields = (
        "catalog",
        "token",
        "handle",
        "item_type",
        "allow_upsert",
        "request_count",
        "status",
        "process_after",
        "claimed_at",
        "finished_at",
        "num_upserted",
        "num_deleted",
        "error_count",
        "warning_count",
        "poll_count",
        "ids_of_invalid_requests",
        "request_sample",
        "error_table",
        "warning_table",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The list never needs the (large) request and issue payloads.
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.defer("requests", "errors", "warnings", "ids_of_invalid_requests")
        return queryset

    @admin.display(description="Requests received (first lines; the rest is dropped once processed)")
    def request_sample(self, obj: ItemsBatch) -> str:
        lines = obj.requests[:REQUEST_LINES_SHOWN]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (n, (r.get("method") if isinstance(r, dict) else "?"), json.dumps(r, ensure_ascii=False)[:400])
                for n, r in enumerate(lines, start=1)
            ),
        )
        return format_html("<table><tbody>{}</tbody></table>", rows) if lines else "—"

    @admin.display(description="Errors per line")
    def error_table(self, obj: ItemsBatch) -> str:
        return _issue_table(obj.errors)

    @admin.display(description="Warnings per line")
    def warning_table(self, obj: ItemsBatch) -> str:
        return _issue_table(obj.warnings)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class FeedUploadErrorInline(admin.TabularInline):
    model = FeedUploadError
    extra = 0
    can_delete = False
    readonly_fields = ("severity", "error_priority", "error_type", "summary", "description", "total_count", "samples")


class FeedUploadAdmin(SandboxAdmin):
    list_display = ("graph_id", "feed", "update_only", "start_time", "end_time", "num_persisted_items", "error_count")
    list_select_related = ("feed",)
    inlines = [FeedUploadErrorInline]
    readonly_fields = ("graph_id", "start_time")

    @admin.display(description="Graph id")
    def graph_id(self, obj: FeedUpload) -> str:
        return obj.fbid


class FeedUploadInline(admin.TabularInline):
    model = FeedUpload
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("update_only", "input_method", "start_time", "end_time", "num_persisted_items", "num_deleted_items")
    readonly_fields = fields


class ProductFeedAdmin(SandboxAdmin):
    list_display = ("name", "graph_id", "catalog", "deletion_enabled", "created_time")
    list_select_related = ("catalog",)
    readonly_fields = ("graph_id",)
    inlines = [FeedUploadInline]

    @admin.display(description="Graph id")
    def graph_id(self, obj: ProductFeed) -> str:
        return obj.fbid


class ServerEventAdmin(SandboxAdmin):
    list_display = ("event_name", "event_id", "pixel", "action_source", "duplicates", "test_event_code", "received_at")
    list_filter = ("event_name", "action_source")
    list_select_related = ("pixel",)
    search_fields = ("event_id",)


class FaultProfileAdmin(SandboxAdmin):
    list_display = ("__str__", "scope", "latency_ms", "error_rate", "fail_next", "rate_limited", "outage")
    raw_id_fields = ("catalog", "token")
    readonly_fields = ("scope",)
    fieldsets = (
        ("Applies to", {"fields": ("scope", "catalog", "token"), "description": "Leave both empty for every call."}),
        ("Availability", {"fields": ("outage", "latency_ms", "error_rate", "fail_next", "lose_answer_next")}),
        ("Rate limiting", {"fields": ("rate_limited", "rate_limit_per_hour", "regain_access_minutes")}),
        ("Processing", {"fields": ("batch_delay_seconds",)}),
    )


class AccessTokenAdmin(SandboxAdmin):
    list_display = ("__str__", "system_user", "type", "expires_at", "revoked_at")
    list_select_related = ("system_user",)
    readonly_fields = ("token",)
    actions = ["revoke", "expire_now"]

    @admin.action(description="Revoke (190)")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        queryset.update(revoked_at=timezone.now())

    @admin.action(description="Expire now (190 / 463)")
    def expire_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        queryset.update(expires_at=timezone.now())


if settings.SANDBOX_ENABLED:
    admin.site.register(Business, SandboxAdmin)
    admin.site.register(ProductCatalog, ProductCatalogAdmin)
    admin.site.register(ProductItem, ProductItemAdmin)
    admin.site.register(ItemsBatch, ItemsBatchAdmin)
    admin.site.register(ProductFeed, ProductFeedAdmin)
    admin.site.register(FeedUpload, FeedUploadAdmin)
    admin.site.register(ProductSet, SandboxAdmin)
    admin.site.register(Pixel, SandboxAdmin)
    admin.site.register(ServerEvent, ServerEventAdmin)
    admin.site.register(FaultProfile, FaultProfileAdmin)
    admin.site.register(AccessToken, AccessTokenAdmin)
