from .batches import CatalogFeed, SyncBatch
from .connections import Catalog, MetaConnection, ShopifyStore, mask_secret
from .products import Product, ProductSet, Variant, shard_key_for
from .reconciliation import MetaItemDeletion, ReconciliationReport, ReconciliationRow
from .tenancy import Membership, Tenant, TenantOwned, TenantQuerySet
from .throttle import GraphThrottle

__all__ = [
    "Catalog",
    "CatalogFeed",
    "GraphThrottle",
    "Membership",
    "MetaConnection",
    "MetaItemDeletion",
    "Product",
    "ProductSet",
    "ReconciliationReport",
    "ReconciliationRow",
    "ShopifyStore",
    "SyncBatch",
    "Tenant",
    "TenantOwned",
    "TenantQuerySet",
    "Variant",
    "mask_secret",
    "shard_key_for",
]
