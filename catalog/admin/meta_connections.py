"""The Meta connection admin: the tenant's Meta token (write-only), its health, and the token banner.

Changing a token is ``MANAGE_CONNECTION`` (owners); owners and staff see ``••••last4``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html

from catalog.connection import token_health
from catalog.models import (
    MetaConnection,
)
from galantis.queue import enqueue

from .base import (
    SecretFieldsForm,
    TenantScopedAdmin,
    WriteOnlySecretField,
    https_formfield,
    secret_hint,
)


def settings_link(tenant) -> str:
    return format_html('<a href="{}">Settings → WhatsApp Connection</a>', token_health.settings_url(tenant))


@admin.action(description="Check the Meta token now (debug_token)", permissions=["manage_connection"])
def check_token_now(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    for connection_id in ids:
        enqueue("catalog.tasks.check_meta_token", connection_id, group=f"token:{connection_id}")
    modeladmin.message_user(request, f"Queued a token check for {len(ids)} connection(s).", messages.SUCCESS)


def token_warnings(request: HttpRequest) -> list[dict]:
    """Token warnings for the admin index banner (tenants where the user may see the connection)."""
    return token_health.warnings_for_user(request.user)


class MetaConnectionForm(SecretFieldsForm):
    secret_fields = ("access_token",)
    access_token = WriteOnlySecretField(label="Catalog access token")

    class Meta:
        model = MetaConnection
        fields = "__all__"
        formfield_callback = https_formfield


# What the last token check found: shown read-only, in its own section.
TOKEN_HEALTH_FIELDS = (
    "token_status",
    "token_type",
    "token_scopes",
    "token_expires_at",
    "token_checked_at",
    "token_error",
)


@admin.register(MetaConnection)
class MetaConnectionAdmin(TenantScopedAdmin):
    form = MetaConnectionForm
    secret_fields = ("access_token",)
    actions = [check_token_now]
    list_display = ("__str__", "tenant", "business_id", "token", "token_status", "token_expires_at", "token_checked_at")
    list_filter = ("token_status",)
    search_fields = ("business_id",)
    readonly_fields = ("token", "settings_page", *TOKEN_HEALTH_FIELDS, "created_at", "updated_at")
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
        ("Token health", {"fields": TOKEN_HEALTH_FIELDS}),
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
