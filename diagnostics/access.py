"""Which tenant and catalog a merchant page looks at (the tenant: ``catalog.current_tenant``)."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from catalog import current_tenant
from catalog.models import Catalog, Tenant

# One rule for every merchant page (catalog.current_tenant); the name stays for this app's views.
pick_tenant = current_tenant.resolve
tenants_for = current_tenant.tenants_for


def pick_catalog(request: HttpRequest, tenant: Tenant) -> Catalog | None:
    """``?catalog=ID`` within the tenant (404 for another tenant's catalog), or None for all of them."""
    raw = request.GET.get("catalog", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404("No such catalog.")
    catalog = Catalog.objects.for_tenant(tenant).filter(pk=int(raw)).first()
    if catalog is None:
        raise Http404("No such catalog.")
    return catalog
