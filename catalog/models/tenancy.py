"""Tenants, memberships, the tenant-owned base every catalog table builds on and the per-tenant settings base."""

from typing import Self

from django.conf import settings
from django.db import models
from django.utils.text import capfirst


class TenantQuerySet(models.QuerySet):
    """Explicit tenant scoping: no thread-local "current tenant"."""

    def for_tenant(self, tenant: "Tenant | int") -> Self:
        return self.filter(tenant_id=getattr(tenant, "pk", tenant))

    def for_user(self, user) -> Self:
        """Rows of the tenants ``user`` belongs to; everything for a superuser."""
        if user.is_superuser:
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(tenant_id__in=Membership.objects.filter(user=user).values("tenant_id"))


class TenantOwned(models.Model):
    """Base for every tenant-owned table: its own ``tenant`` FK, even when a join could reach it."""

    tenant = models.ForeignKey("catalog.Tenant", on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class TenantSettings(TenantOwned):
    """Base for an area's settings: at most one row per tenant."""

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        constraints = [models.UniqueConstraint(fields=["tenant"], name="%(class)s_one_per_tenant")]

    def __str__(self) -> str:
        return f"{capfirst(self._meta.verbose_name)} of {self.tenant}"


class TenantManagerQuerySet(models.QuerySet):
    def for_tenant(self, tenant: "Tenant | int") -> Self:
        return self.filter(pk=getattr(tenant, "pk", tenant))

    def for_user(self, user) -> Self:
        if user.is_superuser:
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user).distinct()


class Tenant(models.Model):
    """One merchant; everything else hangs off a tenant."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManagerQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug


class Membership(models.Model):
    """A user's access to a tenant, with a role."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        STAFF = "staff", "Staff"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant"),
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "staff", "viewer"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"
