"""Permission groups for tenant members, so non-superuser staff can use the admin.

Django permissions are global ("may change products"); *which* products is decided by
tenant scoping (``for_user``) in every admin. A member's role picks the group:
owners and staff work on their tenants' data, viewers only look.

Other apps extend ``TENANT_STAFF_PERMISSIONS`` (e.g. ``"diagnostics.*": ("view",)``);
the groups are brought up to date after every ``migrate`` and by ``create_tenant``/``demo``.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

TENANT_STAFF_GROUP = "Tenant staff"
TENANT_VIEWER_GROUP = "Tenant viewers"

# "app_label.model_name" (or "app_label.*") -> actions. Products and variants come from
# Shopify, so staff edit them (Meta-only fields, fixes) but never add or delete them.
# Users, groups and the task queue are not tenant-scoped: superusers only.
TENANT_STAFF_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "catalog.tenant": ("view", "change"),
    "catalog.membership": ("view",),
    "catalog.shopifystore": ("view", "add", "change"),
    "catalog.metaconnection": ("view", "add", "change"),
    "catalog.catalog": ("view", "add", "change"),
    "catalog.product": ("view", "change"),
    "catalog.variant": ("view", "change"),
    "catalog.productset": ("view", "add", "change", "delete"),
    "catalog.syncbatch": ("view",),
    "catalog.reconciliationreport": ("view",),
    "catalog.metaitemdeletion": ("view",),
    # Shopify in: staff start imports and re-queue webhook events; rows come from Shopify.
    "catalog.importrun": ("view", "add"),
    "catalog.webhookevent": ("view", "change"),
    "catalog.productsetmembership": ("view",),
    "diagnostics.*": ("view",),
}


def _permissions(actions_for: dict[str, tuple[str, ...]], *, view_only: bool = False) -> list[Permission]:
    """The Permission rows for ``actions_for``; models not migrated yet are skipped."""
    query = Q(pk__in=[])
    for label, actions in actions_for.items():
        app_label, _, model = label.partition(".")
        actions = ("view",) if view_only else actions
        codename = Q(codename__regex=rf"^({'|'.join(actions)})_")
        target = Q(content_type__app_label=app_label)
        if model != "*":
            target &= Q(content_type__model=model)
        query |= target & codename
    return list(Permission.objects.filter(query))


def ensure_tenant_groups() -> tuple[Group, Group]:
    """Create or update the "Tenant staff" and "Tenant viewers" groups; return both."""
    staff, _ = Group.objects.get_or_create(name=TENANT_STAFF_GROUP)
    staff.permissions.set(_permissions(TENANT_STAFF_PERMISSIONS))
    viewers, _ = Group.objects.get_or_create(name=TENANT_VIEWER_GROUP)
    viewers.permissions.set(_permissions(TENANT_STAFF_PERMISSIONS, view_only=True))
    return staff, viewers


def update_groups_after_migrate(sender, **kwargs) -> None:
    """post_migrate receiver: new models' permissions reach the groups without a manual step."""
    if kwargs.get("using", "default") != "default":
        return
    # An app's Permission rows exist once its own post_migrate ran; only those apps matter.
    if sender.label not in {label.partition(".")[0] for label in TENANT_STAFF_PERMISSIONS}:
        return
    ensure_tenant_groups()
