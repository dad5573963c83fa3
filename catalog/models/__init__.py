from .batches import CatalogFeed, SyncBatch
from .connections import Catalog, MetaConnection, ShopifyStore, mask_secret
from .counts import VariantStateCount
from .drift import DriftFinding, DriftScan
from .freshness import PushRequest
from .onboarding import MetaOnboarding
from .products import Product, ProductSet, ProductSetMembership, Variant, shard_key_for
from .reconciliation import MetaItemDeletion, ReconciliationReport, ReconciliationRow
from .shopify import ImportRun, ProductTombstone, WebhookDrain, WebhookEvent
from .tenancy import Membership, Tenant, TenantOwned, TenantQuerySet, TenantSettings
from .throttle import GraphThrottle
from .timeline import ReReviewRequest, VariantEvent

__all__ = [
    "Catalog",
    "CatalogFeed",
    "DriftFinding",
    "DriftScan",
    "GraphThrottle",
    "ImportRun",
    "Membership",
    "MetaConnection",
    "MetaItemDeletion",
    "MetaOnboarding",
    "Product",
    "ProductSet",
    "ProductSetMembership",
    "ProductTombstone",
    "PushRequest",
    "ReReviewRequest",
    "ReconciliationReport",
    "ReconciliationRow",
    "ShopifyStore",
    "SyncBatch",
    "Tenant",
    "TenantOwned",
    "TenantQuerySet",
    "TenantSettings",
    "Variant",
    "VariantEvent",
    "VariantStateCount",
    "WebhookDrain",
    "WebhookEvent",
    "mask_secret",
    "shard_key_for",
]
