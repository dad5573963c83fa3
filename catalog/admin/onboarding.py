"""Meta onboardings (what Meta's onboarding webhook announced): read-only.

Members see their tenant's rows; unmatched rows (no tenant) only superusers, since
``for_user`` never returns a NULL tenant. Merchants decide on Settings → WhatsApp Connection.
"""

from django.contrib import admin

from catalog.models import MetaOnboarding

from .base import TenantRelatedOnlyFilter, TenantScopedAdmin


@admin.register(MetaOnboarding)
class MetaOnboardingAdmin(TenantScopedAdmin):
    list_display = ("received_at", "tenant", "business_id", "meta_catalog_id", "pixel_id", "state", "match_note")
    list_filter = ("state", ("tenant", TenantRelatedOnlyFilter))
    search_fields = ("=business_id", "=meta_catalog_id", "=pixel_id")
    readonly_fields = tuple(f.name for f in MetaOnboarding._meta.fields)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
