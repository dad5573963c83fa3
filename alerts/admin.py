"""Admin of the alerts: each tenant's settings (owners), its alerts and its digests (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from catalog.admin.base import ReadOnlyAdmin, TenantConsistentForm, TenantScopedAdmin
from catalog.models import Membership
from galantis.logredact import redact

from .models import Alert, AlertSettings, Digest, Kind


class AlertSettingsForm(TenantConsistentForm):
    kinds = forms.MultipleChoiceField(
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The kinds of alert that are e-mailed (the banners show every kind).",
    )
    roles = forms.MultipleChoiceField(
        choices=Membership.Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Members with these roles get the digest.",
    )

    class Meta:
        model = AlertSettings
        fields = ("tenant", "enabled", "kinds", "roles", "opted_out", "extra_recipients")


@admin.register(AlertSettings)
class AlertSettingsAdmin(TenantScopedAdmin):
    form = AlertSettingsForm
    list_display = ("tenant", "enabled", "kinds", "roles", "updated_at")
    fields = ("tenant", "enabled", "kinds", "roles", "opted_out", "extra_recipients")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "tenant",
        "kind",
        "is_open",
        "opened_at",
        "last_seen_at",
        "resolved_at",
        "last_sent_at",
        "fix",
    )
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    ordering = ("-opened_at", "-pk")
    fields = (
        "tenant",
        "kind",
        "key",
        "catalog",
        "title",
        "message",
        "fix",
        "fingerprint",
        "opened_at",
        "last_seen_at",
        "resolved_at",
        "last_sent_at",
        "sent_fingerprint",
    )
    readonly_fields = fields

    @admin.display(boolean=True, description="Open")
    def is_open(self, obj: Alert) -> bool:
        return obj.resolved_at is None

    @admin.display(description="Fix")
    def fix(self, obj: Alert) -> str:
        return format_html('<a href="{}">{}</a>', obj.fix_url, obj.fix_label or "Fix it") if obj.fix_url else "—"


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    list_display = ("subject", "tenant", "state", "created_at", "attempts", "last_attempt_at", "sent_at", "error")
    list_filter = ("state",)
    ordering = ("-created_at", "-pk")
    fields = (
        "tenant",
        "subject",
        "recipients",
        "state",
        "attempts",
        "last_attempt_at",
        "sent_at",
        "error",
        "created_at",
        "body",
    )
    readonly_fields = fields

    @admin.display(description="Last error")
    def error(self, obj: Digest) -> str:
        return redact(obj.last_error) or "—"
