from .bulk import BulkOperation
from .orders import Order
from .products import Collection, CollectionProduct, InventoryLevel, Product, ProductImage, Variant
from .shops import Location, Shop
from .webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "BulkOperation",
    "Collection",
    "CollectionProduct",
    "InventoryLevel",
    "Location",
    "Order",
    "Product",
    "ProductImage",
    "Shop",
    "Variant",
    "WebhookDelivery",
    "WebhookSubscription",
]
