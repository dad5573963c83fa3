"""Admin of the Conversions API: the event queue (read-only, with retry) and each tenant's settings.

An event's page never shows its customer data: not the hashes, not the client IP or user
agent; only which keys it carries.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from catalog.admin.base import TenantRelatedOnlyFilter, TenantScopedAdmin
from galantis.logredact import redact

from . import send
from .models import ConversionEvent, ConversionsSettings


@admin.action(description="Send the selected dead or waiting events again", permissions=["operate"])
def retry_events(modeladmin, request, queryset):
    dead = send.retry_dead(queryset)
    waiting = send.send_now(queryset)
    modeladmin.message_user(
        request,
        f"Queued {dead} dead and {waiting} waiting event(s) to be sent.",
        messages.SUCCESS if dead or waiting else messages.WARNING,
    )


@admin.register(ConversionEvent)
class ConversionEventAdmin(TenantScopedAdmin):
    list_display = (
        "order_name",
        "event_name",
        "event_id",
        "tenant",
        "state",
        "event_time",
        "money",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    )
    list_filter = ("state", "event_name", ("catalog", TenantRelatedOnlyFilter))
    list_select_related = ("tenant",)
    search_fields = ("=event_id", "=order_name", "=shopify_order_id")
    ordering = ("-pk",)
    actions = (retry_events,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "tenant",
                    "store",
                    "catalog",
                    "event_name",
                    "event_id",
                    "order_name",
                    "shopify_order_id",
                    "event_time",
                    "money",
                    "state",
                    "attempts",
                    "next_attempt_at",
                    "sent_at",
                )
            },
        ),
        ("Meta", {"fields": ("pixel_id", "test_event_code", "fbtrace_id", "last_error_code", "error_text", "note")}),
        ("Event", {"fields": ("user_data_keys", "custom_data")}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ConversionEvent._meta.fields] + ["money", "error_text", "custom_data"]

    @admin.display(description="Value")
    def money(self, obj: ConversionEvent) -> str:
        return f"{obj.value:.2f} {obj.currency}" if obj.value is not None else "—"

    @admin.display(description="Last error")
    def short_error(self, obj: ConversionEvent) -> str:
        text = redact(obj.last_error)
        return (text[:80] + "…") if len(text) > 80 else text

    @admin.display(description="Last error")
    def error_text(self, obj: ConversionEvent) -> str:
        return redact(obj.last_error) or "—"

    @admin.display(description="custom_data (as sent)")
    def custom_data(self, obj: ConversionEvent) -> str:
        data = (obj.payload or {}).get("custom_data") or {}
        return format_html("<pre>{}</pre>", json.dumps(data, indent=2, ensure_ascii=False))


@admin.register(ConversionsSettings)
class ConversionsSettingsAdmin(TenantScopedAdmin):
    list_display = ("tenant", "enabled", "test_event_code", "updated_at")
    fields = ("tenant", "enabled", "test_event_code")

    def has_delete_permission(self, request, obj=None):
        return False
