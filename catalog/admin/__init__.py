"""The catalog admin, one module per area; importing this package registers them all.

``TenantScopedAdmin`` (in ``base``) is the base for every tenant-owned model's admin,
in this app and in others.
"""

from . import (  # noqa: F401  (registers the admins)
    batches,
    catalogs,
    drift,
    meta_connections,
    onboarding,
    products,
    reconciliation,
    shopify_in,
    stores,
    tenancy,
    timeline,
)
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
