"""Who may see and change a tenant's WhatsApp Connection settings.

The role matrix decides (``catalog.permissions``): seeing the page is
``SEE_CONNECTION`` (owners and staff), changing anything on it is
``MANAGE_CONNECTION`` (owners), superusers both. Another tenant's settings answer 404,
the same as a tenant that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from catalog import current_tenant
from catalog.models import Tenant
from catalog.permissions import Action, can


@dataclass(frozen=True)
class Access:
    tenant: Tenant
    can_manage: bool


def resolve(request: HttpRequest, *, manage: bool = False) -> Access:
    """The tenant this request works on (``?tenant=slug``, else the last one used, else the first).

    Raises 404 for a tenant the user doesn't belong to, 403 when the role is too weak.
    """
    user = request.user
    tenant, _ = current_tenant.resolve(request)  # the same tenant as every other merchant page
    if not can(user, Action.SEE_CONNECTION, tenant):
        raise PermissionDenied("Only the tenant's owners and staff see the WhatsApp Connection settings.")
    access = Access(tenant=tenant, can_manage=can(user, Action.MANAGE_CONNECTION, tenant))
    if manage and not access.can_manage:
        raise PermissionDenied("Only an owner of this tenant can change the WhatsApp Connection.")
    return access
