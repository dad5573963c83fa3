"""Tenant scoping shared by the diagnostics ModelAdmins."""

from __future__ import annotations

from django.contrib import admin


class TenantScopedAdmin(admin.ModelAdmin):
    """Rows of the user's tenants only (all for a superuser); FK choices scoped the same way."""

    show_full_result_count = False  # no second COUNT(*) on million-row tables

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.for_user(request.user) if hasattr(qs, "for_user") else qs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        qs = db_field.related_model._default_manager.all()
        if hasattr(qs, "for_user"):
            kwargs["queryset"] = qs.for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
