"""Which tenant a merchant page works on: one rule and one session key for every merchant page.

``?tenant=slug`` (or a posted ``tenant``) picks one of the user's tenants, else the one the
user last worked on (any merchant page: health, WhatsApp Connection, ...), else their first.
A slug the user may not see answers 404, the same as one that does not exist; a superuser
may pick any tenant. Role checks stay with each page (``catalog.permissions``).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest

from catalog.models import Tenant

SESSION_KEY = "tenant"
# Tenants listed in the switcher; a superuser with more picks by ?tenant=slug.
SWITCHER_LIMIT = 200


def tenants_for(user: AbstractBaseUser) -> list[Tenant]:
    """Tenants the user may see in the switcher (one query)."""
    return list(Tenant.objects.for_user(user).order_by("name", "slug")[:SWITCHER_LIMIT])


def resolve(request: HttpRequest) -> tuple[Tenant, list[Tenant]]:
    """The tenant this request works on and the user's tenants (for the switcher); 404 when there is none."""
    tenants = tenants_for(request.user)
    explicit = request.GET.get("tenant") or request.POST.get("tenant") or ""
    wanted = explicit or request.session.get(SESSION_KEY, "")
    chosen = None
    if wanted:
        chosen = next((t for t in tenants if t.slug == wanted), None)
        if chosen is None:
            # Beyond the switcher's limit, or a superuser's pick of any tenant.
            chosen = Tenant.objects.for_user(request.user).filter(slug=wanted).first()
        if chosen is None and request.user.is_superuser:
            chosen = Tenant.objects.filter(slug=wanted).first()
        if chosen is None and explicit:
            raise Http404("No such tenant.")
    chosen = chosen or (tenants[0] if tenants else None)
    if chosen is None:
        raise Http404("You are not a member of any shop.")
    if request.session.get(SESSION_KEY) != chosen.slug:
        request.session[SESSION_KEY] = chosen.slug
    return chosen, tenants
