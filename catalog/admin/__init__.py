"""The catalog admin, one module per area; importing this package registers them all.

``TenantScopedAdmin`` (in ``base``) is the base for every tenant-owned model's admin,
in this app and in others.
"""

from . import batches, connection, connections, drift, onboarding, products, shopify, tenancy, timeline  # noqa: F401  (registers the admins)
from .base import (
    SecretFieldsForm,
    TenantConsistentForm,
    TenantRelatedOnlyFilter,
    TenantScopedAdmin,
    TenantScopedInline,
    WriteOnlySecretField,
    status_badge,
    status_count_badges,
)

__all__ = [
    "SecretFieldsForm",
    "TenantConsistentForm",
    "TenantRelatedOnlyFilter",
    "TenantScopedAdmin",
    "TenantScopedInline",
    "WriteOnlySecretField",
    "status_badge",
    "status_count_badges",
]
