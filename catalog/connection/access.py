"""Who may see and change a tenant's WhatsApp Connection settings.

The role matrix decides (``catalog.permissions``): seeing the page is
``SEE_CONNECTION`` (owners and staff), changing anything on it is
``MANAGE_CONNECTION`` (owners), superusers both. Another tenant's settings answer 404,
the same as a tenant that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from catalog.models import Tenant
from catalog.permissions import Action, can

SESSION_KEY = "connection_tenant"


@dataclass(frozen=True)
class Access:
    tenant: Tenant
    can_manage: bool


def resolve(request: HttpRequest, *, manage: bool = False) -> Access:
    """The tenant this request works on (``?tenant=slug``, else the last one used, else the first).

    Raises 404 for a tenant the user doesn't belong to, 403 when the role is too weak.
    """
    user = request.user
    slug = request.GET.get("tenant") or request.POST.get("tenant") or request.session.get(SESSION_KEY)
    tenants = Tenant.objects.for_user(user).order_by("slug")
    tenant = tenants.filter(slug=slug).first() if slug else None
    if tenant is None:
        if slug and (request.GET.get("tenant") or request.POST.get("tenant")):
            raise Http404("No such tenant.")
        tenant = tenants.first()
    if tenant is None:
        raise Http404("You don't belong to any tenant.")
    if not can(user, Action.SEE_CONNECTION, tenant):
        raise PermissionDenied("Only the tenant's owners and staff see the WhatsApp Connection settings.")
    access = Access(tenant=tenant, can_manage=can(user, Action.MANAGE_CONNECTION, tenant))
    if manage and not access.can_manage:
        raise PermissionDenied("Only an owner of this tenant can change the WhatsApp Connection.")
    request.session[SESSION_KEY] = tenant.slug
    return access
