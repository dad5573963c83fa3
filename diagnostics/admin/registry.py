"""ModelAdmins for the error taxonomy, issues, runs and snapshots (read-mostly)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from catalog.admin.base import TenantRelatedOnlyFilter, TenantScopedAdmin, titled_choices_filter
from diagnostics.models import CatalogIssue, DiagnosticsRun, ErrorType, HealthSnapshot, ItemIssue


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(ErrorType)
class ErrorTypeAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "display_title",
        "source",
        "category",
        "priority",
        "fix_location",
        "known",
        "meta_updated_at",
    )
    list_filter = ("source", "priority", "category", "fix_location", "known")
    search_fields = ("code", "title", "meta_title")
    readonly_fields = (
        "meta_title",
        "meta_description",
        "meta_call_to_action",
        "meta_updated_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("code", "source", "category", "priority", "known")}),
        ("Our wording", {"fields": ("title", "description", "fix", "fix_location", "help_url")}),
        ("Meta's wording (refreshed from Meta)", {"fields": readonly_fields}),
    )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # issues reference types (PROTECT); a type is retired by editing it


# The issue's own source: which check or Meta answer reported it.
ReportedByFilter = titled_choices_filter("reported by")
# The error type's source: a problem Meta finds, one our checks find, or the connection.
ProblemKindFilter = titled_choices_filter("problem type")


class _IssueAdmin(TenantScopedAdmin):
    # Two "source" fields, titled apart: Django would call both "By source".
    list_filter = (
        OpenFilter,
        "priority",
        ("error_type__source", ProblemKindFilter),
        ("source", ReportedByFilter),
        ("catalog", TenantRelatedOnlyFilter),
    )
    list_select_related = ("tenant", "catalog", "error_type")
    date_hierarchy = None

    def has_add_permission(self, request) -> bool:
        return False  # issues come from Meta and our checks, never typed in

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ItemIssue)
class ItemIssueAdmin(_IssueAdmin):
    # The problem and the item first; where it came from and when are on the issue's page and in the filters.
    list_display = ("error_type", "variant_link", "priority", "last_seen", "resolved_at", "tenant")
    # Pinned: the shared Issue base would otherwise put its fields (source, dates) first.
    fields = (
        "tenant",
        "catalog",
        "variant",
        "error_type",
        "source",
        "priority",
        "message",
        "reference",
        "first_seen",
        "last_seen",
        "resolved_at",
    )
    list_select_related = ("tenant", "catalog", "error_type", "variant")
    search_fields = ("=variant__sku", "=variant__retailer_id", "=error_type__code")
    raw_id_fields = ("variant",)

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # The catalog diagnostics page links here filtered by catalog and type (both indexed).
        if lookup in ("catalog__id__exact", "error_type__id__exact"):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="variant", ordering="variant_id")
    def variant_link(self, obj: ItemIssue):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:catalog_variant_change", args=[obj.variant_id]),
            obj.variant.retailer_id,
        )


@admin.register(CatalogIssue)
class CatalogIssueAdmin(_IssueAdmin):
    list_display = ("display_title", "priority", "affected_items", "catalog", "last_seen", "resolved_at")
    # Pinned: the shared Issue base would otherwise put its fields (source, dates) first.
    fields = (
        "tenant",
        "catalog",
        "error_type",
        "source",
        "key",
        "priority",
        "title",
        "message",
        "affected_items",
        "details",
        "first_seen",
        "last_seen",
        "resolved_at",
    )
    search_fields = ("=error_type__code", "title")


@admin.register(DiagnosticsRun)
class DiagnosticsRunAdmin(TenantScopedAdmin):
    list_display = (
        "started_at",
        "catalog",
        "kind",
        "status",
        "scope",
        "items_seen",
        "opened",
        "updated",
        "resolved",
        "error_code",
    )
    list_filter = ("kind", "status")
    list_select_related = ("catalog",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(HealthSnapshot)
class HealthSnapshotAdmin(TenantScopedAdmin):
    list_display = (
        "taken_at",
        "catalog",
        "pending",
        "synced",
        "failed",
        "open_high",
        "open_medium",
        "open_low",
        "catalog_issues",
    )
    list_select_related = ("catalog",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
