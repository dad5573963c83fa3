"""Which tenant a merchant is looking at: their memberships only (a superuser may pick any)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest

from catalog.models import Catalog, Tenant

SESSION_KEY = "health_tenant"
# Tenants listed in the switcher; a superuser with more picks by ?tenant=slug.
SWITCHER_LIMIT = 200


def tenants_for(user: AbstractBaseUser) -> list[Tenant]:
    """Tenants the user may see in the switcher (one query)."""
    return list(Tenant.objects.for_user(user).order_by("name", "slug")[:SWITCHER_LIMIT])


def pick_tenant(request: HttpRequest) -> tuple[Tenant, list[Tenant]]:
    """The tenant asked for (``?tenant=slug``, else the one last used), within the user's own; 404 otherwise."""
    tenants = tenants_for(request.user)
    wanted = request.GET.get("tenant") or request.session.get(SESSION_KEY, "")
    if wanted:
        chosen = next((t for t in tenants if t.slug == wanted), None)
        if chosen is None and request.user.is_superuser:
            chosen = Tenant.objects.filter(slug=wanted).first()
        if chosen is None and request.GET.get("tenant"):
            raise Http404("No such tenant.")
    else:
        chosen = None
    chosen = chosen or (tenants[0] if tenants else None)
    if chosen is None:
        raise Http404("You are not a member of any shop.")
    if request.session.get(SESSION_KEY) != chosen.slug:
        request.session[SESSION_KEY] = chosen.slug
    return chosen, tenants


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
