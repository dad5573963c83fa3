"""Meta onboardings (what Meta's onboarding webhook announced): read-only.

Members see their tenant's rows; unmatched rows (no tenant) only superusers, since
``for_user`` never returns a NULL tenant. Merchants decide on Settings → WhatsApp Connection.
"""

from django.contrib import admin

from catalog.models import MetaOnboarding

from .base import ReadOnlyAdmin, TenantRelatedOnlyFilter


@admin.register(MetaOnboarding)
class MetaOnboardingAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "tenant", "business_id", "meta_catalog_id", "pixel_id", "state", "match_note")
    list_filter = ("state", ("tenant", TenantRelatedOnlyFilter))
    search_fields = ("=business_id", "=meta_catalog_id", "=pixel_id")
    readonly_fields = tuple(f.name for f in MetaOnboarding._meta.fields)
