"""What each role may do in a tenant: the one matrix, and the one function that asks it.

Roles are per tenant (``Membership.role``): the same person may own tenant A and only
view tenant B, and the role in *the object's* tenant is the one that counts. Every check
of tenant data (admin pages, admin actions, custom admin views, merchant pages) asks
:func:`can`; Django's global permissions and groups grant nothing on tenant data.
Superusers may do everything in every tenant, and they alone use what belongs to no
tenant (users, groups, the task queue, the error taxonomy, the sandbox).

The README's "Roles" table is this matrix in words; a test keeps the two the same.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import Group
from django.db import models

from .models import Membership, Tenant

Role = Membership.Role


class Action(StrEnum):
    """What someone may want to do with a tenant's data (the rows of the matrix)."""

    # See the tenant's data: admin lists and pages, reports, diagnostics, /health/.
    # Never a secret: stored tokens show as "stored", not even their last four characters.
    VIEW = "view"
    # Open Settings → WhatsApp Connection and the store's catalog-connection page, get the
    # token banner, and see stored tokens and secrets as ••••last4.
    SEE_CONNECTION = "see_connection"
    # Queue work and flip sync state: push now, full resync, retry rejected items, pause and
    # resume sync, send variants again, re-check Meta's rules, import from Shopify,
    # reprocess webhook events, re-poll diagnostics, "check now" on /health/.
    OPERATE = "operate"
    # Edit products and variants (Meta-only fields, prices, stock, exclude from Meta) and
    # product sets.
    EDIT = "edit"
    # Credentials and connections: the Meta token, the Shopify token and webhook secret,
    # connecting a store, adding or editing catalogs, import / create / link flows, pixel,
    # token and webhook checks, re-reading a catalog, applying an import report.
    MANAGE_CONNECTION = "manage_connection"
    # Rename the tenant; add, change and remove its members.
    MANAGE_TENANT = "manage_tenant"


# THE matrix: which roles may do each action in their own tenants.
MATRIX: dict[Action, frozenset[str]] = {
    Action.VIEW: frozenset({Role.OWNER, Role.STAFF, Role.VIEWER}),
    Action.SEE_CONNECTION: frozenset({Role.OWNER, Role.STAFF}),
    Action.OPERATE: frozenset({Role.OWNER, Role.STAFF}),
    Action.EDIT: frozenset({Role.OWNER, Role.STAFF}),
    Action.MANAGE_CONNECTION: frozenset({Role.OWNER}),
    Action.MANAGE_TENANT: frozenset({Role.OWNER}),
}

# The admin's view / add / change / delete permission on each tenant-owned model, as a
# matrix action. A permission a model does not list is for superusers only (tenants are
# created and deleted by operators; products come from Shopify; batches, runs, reports and
# issues are written by the system). A tenant-scoped admin of a model missing here is
# view-only for members.
ADMIN_PERMISSIONS: dict[str, dict[str, Action]] = {
    "catalog.tenant": {"view": Action.VIEW, "change": Action.MANAGE_TENANT},
    "catalog.membership": {
        "view": Action.VIEW,
        "add": Action.MANAGE_TENANT,
        "change": Action.MANAGE_TENANT,
        "delete": Action.MANAGE_TENANT,
    },
    "catalog.shopifystore": {"view": Action.VIEW, "add": Action.MANAGE_CONNECTION, "change": Action.MANAGE_CONNECTION},
    "catalog.metaconnection": {
        "view": Action.VIEW,
        "add": Action.MANAGE_CONNECTION,
        "change": Action.MANAGE_CONNECTION,
    },
    "catalog.catalog": {"view": Action.VIEW, "add": Action.MANAGE_CONNECTION, "change": Action.MANAGE_CONNECTION},
    "catalog.product": {"view": Action.VIEW, "change": Action.EDIT},
    "catalog.variant": {"view": Action.VIEW, "change": Action.EDIT},
    "catalog.productset": {"view": Action.VIEW, "add": Action.EDIT, "change": Action.EDIT, "delete": Action.EDIT},
    # The Conversions API: the event queue is written by the system (retry is ``operate``);
    # turning it on or off and the test event code are part of the pixel set-up.
    "conversions.conversionssettings": {
        "view": Action.VIEW,
        "add": Action.MANAGE_CONNECTION,
        "change": Action.MANAGE_CONNECTION,
    },
    # Who of the tenant gets which alert e-mails: the owners decide, as for members.
    "alerts.alertsettings": {"view": Action.VIEW, "add": Action.MANAGE_TENANT, "change": Action.MANAGE_TENANT},
}
VIEW_ONLY: dict[str, Action] = {"view": Action.VIEW}
DJANGO_PERMISSIONS = ("view", "add", "change", "delete")


def admin_action(model_label: str, permission: str) -> Action | None:
    """The matrix action behind an admin permission of a tenant-owned model; None: superusers only.

    ``permission`` is Django's ``view``/``add``/``change``/``delete`` or, for admin actions
    declared with ``permissions=["operate"]`` and the like, a matrix action's own name.
    """
    if permission not in DJANGO_PERMISSIONS:
        return Action(permission)
    return ADMIN_PERMISSIONS.get(model_label, VIEW_ONLY).get(permission)


def roles_of(user) -> dict[int, str]:
    """``{tenant_id: role}`` for the user's memberships, read once per user object (request)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    cached = getattr(user, "_tenant_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("tenant_id", "role"))
        user._tenant_roles = cached
    return cached


def is_superuser(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser)


def tenant_id_of(obj_or_tenant: models.Model | int) -> int:
    """The tenant id of a tenant, a tenant id, or any tenant-owned object."""
    if isinstance(obj_or_tenant, Tenant):
        return obj_or_tenant.pk
    if isinstance(obj_or_tenant, int):
        return obj_or_tenant
    tenant_id = getattr(obj_or_tenant, "tenant_id", None)
    if tenant_id is None:
        raise TypeError(f"{obj_or_tenant!r} belongs to no tenant.")
    return tenant_id


def can(user, action: Action | str, obj_or_tenant: models.Model | int) -> bool:
    """May ``user`` do ``action`` on this object (or in this tenant)? The role in its tenant decides."""
    if is_superuser(user):
        return True
    role = roles_of(user).get(tenant_id_of(obj_or_tenant))
    return role is not None and role in MATRIX[Action(action)]


def tenant_ids_allowing(user, action: Action | str) -> set[int]:
    """Ids of the user's tenants where their role allows ``action`` (superusers: see :func:`can`)."""
    allowed = MATRIX[Action(action)]
    return {tenant_id for tenant_id, role in roles_of(user).items() if role in allowed}


def can_anywhere(user, action: Action | str) -> bool:
    """May ``user`` do ``action`` in at least one tenant (to offer a link, a button, an add form)?"""
    return is_superuser(user) or bool(tenant_ids_allowing(user, action))


def allowed_tenants(user, action: Action | str) -> models.QuerySet[Tenant]:
    """The tenants where ``user`` may do ``action`` (every tenant for a superuser)."""
    if is_superuser(user):
        return Tenant.objects.all()
    return Tenant.objects.filter(pk__in=sorted(tenant_ids_allowing(user, action)))


def denied_rows(user, action: Action | str, queryset: models.QuerySet) -> models.QuerySet:
    """The rows of ``queryset`` whose tenant does not allow ``action`` to ``user``."""
    if is_superuser(user):
        return queryset.none()
    field = "pk" if queryset.model is Tenant else "tenant_id"
    return queryset.exclude(**{f"{field}__in": sorted(tenant_ids_allowing(user, action))})


# Before roles were per tenant, members got these global permission groups; they grant
# nothing now and are removed after ``migrate`` so no old database keeps global rights.
LEGACY_GROUPS = ("Tenant staff", "Tenant viewers")


def remove_legacy_groups(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: delete the old "Tenant staff" / "Tenant viewers" groups."""
    Group.objects.using(using).filter(name__in=LEGACY_GROUPS).delete()
