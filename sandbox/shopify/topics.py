"""Webhook topics: the GraphQL enum names and their ``X-Shopify-Topic`` header names."""

# WebhookSubscriptionTopic values the sandbox accepts and can emit (a subset of Shopify's enum).
TOPICS = {
    "APP_UNINSTALLED": "app/uninstalled",
    "BULK_OPERATIONS_FINISH": "bulk_operations/finish",
    "COLLECTIONS_CREATE": "collections/create",
    "COLLECTIONS_UPDATE": "collections/update",
    "COLLECTIONS_DELETE": "collections/delete",
    "INVENTORY_ITEMS_CREATE": "inventory_items/create",
    "INVENTORY_ITEMS_UPDATE": "inventory_items/update",
    "INVENTORY_ITEMS_DELETE": "inventory_items/delete",
    "INVENTORY_LEVELS_CONNECT": "inventory_levels/connect",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "INVENTORY_LEVELS_DISCONNECT": "inventory_levels/disconnect",
    "ORDERS_CREATE": "orders/create",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_UPDATED": "orders/updated",
    "PRODUCTS_CREATE": "products/create",
    "PRODUCTS_UPDATE": "products/update",
    "PRODUCTS_DELETE": "products/delete",
    "SHOP_UPDATE": "shop/update",
}
ENUM_FOR_HEADER = {header: enum for enum, header in TOPICS.items()}


def header_for(topic_enum: str) -> str:
    """``PRODUCTS_UPDATE`` -> ``products/update``."""
    return TOPICS[topic_enum]


def enum_for(topic_header: str) -> str:
    """``products/update`` -> ``PRODUCTS_UPDATE``."""
    return ENUM_FOR_HEADER[topic_header]
