"""Root query fields (QueryRoot)."""

from typing import Any

from django.db.models import Value
from django.db.models.functions import Coalesce
from graphql import GraphQLResolveInfo

from .. import ids, search
from ..models import (
    BulkOperation,
    Collection,
    InventoryLevel,
    Location,
    Order,
    Product,
    ProductImage,
    Variant,
    WebhookSubscription,
)
from .connections import queryset_connection
from .errors import UserFacingError
from .registry import resolves
from .types import InventoryItemRef, count_object, product_queryset

Info = GraphQLResolveInfo

PRODUCT_ORDER = {
    "ID": ["legacy_id"],
    "RELEVANCE": ["legacy_id"],
    "TITLE": ["title", "legacy_id"],
    "UPDATED_AT": ["updated_at", "legacy_id"],
    "CREATED_AT": ["created_at", "legacy_id"],
    "PRODUCT_TYPE": ["product_type", "legacy_id"],
    "VENDOR": ["vendor", "legacy_id"],
}
VARIANT_ORDER = {
    "ID": ["legacy_id"],
    "RELEVANCE": ["legacy_id"],
    "POSITION": ["product__legacy_id", "position", "legacy_id"],
    "TITLE": ["title", "legacy_id"],
    "SKU": ["sku_key", "legacy_id"],
}
COLLECTION_ORDER = {
    "ID": ["legacy_id"],
    "RELEVANCE": ["legacy_id"],
    "TITLE": ["title", "legacy_id"],
    "UPDATED_AT": ["updated_at", "legacy_id"],
}


def _shop(info: Info):
    return info.context.shop


def _expect_gid(value: str, *type_names: str) -> tuple[str, int]:
    parsed = ids.parse_gid(value)
    if parsed is None or (type_names and parsed[0] not in type_names):
        raise UserFacingError(f"Invalid global id '{value}'", code="argumentLiteralsIncompatible")
    return parsed


def find_node(info: Info, value: str) -> Any:
    """The object behind a global id within the request's shop, or None."""
    type_name, number = _expect_gid(value)
    shop = _shop(info)
    if type_name == "Product":
        return Product.objects.for_shop(shop).filter(legacy_id=number).first()
    if type_name == "ProductVariant":
        return Variant.objects.for_shop(shop).select_related("product", "image").filter(legacy_id=number).first()
    if type_name == "InventoryItem":
        variant = (
            Variant.objects.for_shop(shop).select_related("product").filter(inventory_item_legacy_id=number).first()
        )
        return InventoryItemRef(variant) if variant else None
    if type_name == "Collection":
        return Collection.objects.for_shop(shop).filter(legacy_id=number).first()
    if type_name == "Location":
        return Location.objects.filter(shop=shop, legacy_id=number).first()
    if type_name in ("MediaImage", "ProductImage"):
        field = "media_legacy_id" if type_name == "MediaImage" else "legacy_id"
        return ProductImage.objects.for_shop(shop).filter(**{field: number}).first()
    if type_name == "BulkOperation":
        from ..bulk import advance

        op = BulkOperation.objects.filter(shop=shop, legacy_id=number).first()
        return advance(op) if op else None
    if type_name == "WebhookSubscription":
        return WebhookSubscription.objects.filter(shop=shop, legacy_id=number).first()
    if type_name == "Order":
        return Order.objects.filter(shop=shop, legacy_id=number).first()
    if type_name == "InventoryLevel":
        item = value.partition("inventory_item_id=")[2]
        if not item.isdigit():
            return None
        return (
            InventoryLevel.objects.select_related("location", "variant")
            .filter(shop=shop, location__legacy_id=number, variant__inventory_item_legacy_id=int(item))
            .first()
        )
    if type_name == "Shop":
        return shop if number == shop.pk else None
    return None


@resolves("QueryRoot", "shop")
def _shop_root(root: Any, info: Info) -> Any:
    return _shop(info)


@resolves("QueryRoot", "node")
def _node(root: Any, info: Info, id: str) -> Any:
    return find_node(info, id)


@resolves("QueryRoot", "nodes")
def _nodes(root: Any, info: Info, ids: list[str]) -> list[Any]:
    if len(ids) > 250:
        raise UserFacingError("The maximum number of ids per nodes query is 250.")
    return [find_node(info, value) for value in ids]


def _one(info: Info, value: str, type_name: str) -> Any:
    _expect_gid(value, type_name)
    return find_node(info, value)


@resolves("QueryRoot", "product")
def _product(root: Any, info: Info, id: str) -> Any:
    return _one(info, id, "Product")


@resolves("QueryRoot", "productByHandle")
def _product_by_handle(root: Any, info: Info, handle: str) -> Any:
    return Product.objects.for_shop(_shop(info)).filter(handle=handle).first()


def products_matching(info: Info, query: str | None):
    queryset = Product.objects.for_shop(_shop(info))
    condition = search.to_q(query, search.PRODUCT_FIELDS)
    if condition:
        # A subquery, so joins in the filter (variants, collections) never duplicate rows.
        queryset = queryset.filter(pk__in=Product.objects.for_shop(_shop(info)).filter(condition).values("pk"))
    return queryset


@resolves("QueryRoot", "products")
def _products(root: Any, info: Info, sortKey: str = "ID", query: str | None = None, **args: Any) -> dict:
    queryset = product_queryset(info, products_matching(info, query))
    return queryset_connection(queryset, PRODUCT_ORDER[sortKey], **args)


@resolves("QueryRoot", "productsCount")
def _products_count(root: Any, info: Info, query: str | None = None, limit: int | None = 10000) -> dict:
    queryset = products_matching(info, query)
    if limit is None:
        return count_object(queryset.count())
    return count_object(queryset[: limit + 1].count(), limit)


@resolves("QueryRoot", "productVariant")
def _product_variant(root: Any, info: Info, id: str) -> Any:
    return _one(info, id, "ProductVariant")


def variants_matching(info: Info, query: str | None):
    queryset = Variant.objects.for_shop(_shop(info))
    condition = search.to_q(query, search.VARIANT_FIELDS)
    return queryset.filter(condition) if condition else queryset


@resolves("QueryRoot", "productVariants")
def _product_variants(root: Any, info: Info, sortKey: str = "ID", query: str | None = None, **args: Any) -> dict:
    queryset = variants_matching(info, query).select_related("product", "image")
    if sortKey == "SKU":
        queryset = queryset.annotate(sku_key=Coalesce("sku", Value("")))
    return queryset_connection(queryset, VARIANT_ORDER[sortKey], **args)


@resolves("QueryRoot", "productVariantsCount")
def _variants_count(root: Any, info: Info, query: str | None = None, limit: int | None = 10000) -> dict:
    queryset = variants_matching(info, query)
    if limit is None:
        return count_object(queryset.count())
    return count_object(queryset[: limit + 1].count(), limit)


@resolves("QueryRoot", "collection")
def _collection(root: Any, info: Info, id: str) -> Any:
    return _one(info, id, "Collection")


@resolves("QueryRoot", "collectionByHandle")
def _collection_by_handle(root: Any, info: Info, handle: str) -> Any:
    return Collection.objects.for_shop(_shop(info)).filter(handle=handle).first()


def collections_matching(info: Info, query: str | None):
    queryset = Collection.objects.for_shop(_shop(info))
    condition = search.to_q(query, search.COLLECTION_FIELDS)
    return queryset.filter(condition) if condition else queryset


@resolves("QueryRoot", "collections")
def _collections(root: Any, info: Info, sortKey: str = "ID", query: str | None = None, **args: Any) -> dict:
    return queryset_connection(collections_matching(info, query), COLLECTION_ORDER[sortKey], **args)


@resolves("QueryRoot", "collectionsCount")
def _collections_count(root: Any, info: Info, query: str | None = None, limit: int | None = 10000) -> dict:
    return count_object(collections_matching(info, query).count(), limit)


@resolves("QueryRoot", "inventoryItem")
def _inventory_item(root: Any, info: Info, id: str) -> Any:
    return _one(info, id, "InventoryItem")


@resolves("QueryRoot", "inventoryItems")
def _inventory_items(root: Any, info: Info, query: str | None = None, **args: Any) -> dict:
    connection = queryset_connection(
        variants_matching(info, query).select_related("product"), ["inventory_item_legacy_id"], **args
    )
    for edge in connection["edges"]:
        edge["node"] = InventoryItemRef(edge["node"])
    connection["nodes"] = [edge["node"] for edge in connection["edges"]]
    return connection


@resolves("QueryRoot", "inventoryLevel")
def _inventory_level(root: Any, info: Info, id: str) -> Any:
    return _one(info, id, "InventoryLevel")


@resolves("QueryRoot", "location")
def _location(root: Any, info: Info, id: str | None = None) -> Any:
    if id is None:
        return Location.objects.filter(shop=_shop(info)).order_by("legacy_id").first()
    return _one(info, id, "Location")


@resolves("QueryRoot", "locations")
def _locations(root: Any, info: Info, **args: Any) -> dict:
    return queryset_connection(Location.objects.filter(shop=_shop(info)), ["legacy_id"], **args)


@resolves("QueryRoot", "currentBulkOperation")
def _current_bulk(root: Any, info: Info, type: str = "QUERY") -> Any:
    from ..bulk import advance

    op = BulkOperation.objects.filter(shop=_shop(info), type=type).order_by("-created_at", "-pk").first()
    return advance(op) if op else None


@resolves("QueryRoot", "bulkOperation")
def _bulk_operation(root: Any, info: Info, id: str) -> Any:
    return _one(info, id, "BulkOperation")


@resolves("QueryRoot", "webhookSubscription")
def _webhook_subscription(root: Any, info: Info, id: str) -> Any:
    return _one(info, id, "WebhookSubscription")


@resolves("QueryRoot", "webhookSubscriptions")
def _webhook_subscriptions(
    root: Any,
    info: Info,
    topics: list[str] | None = None,
    callbackUrl: str | None = None,
    format: str | None = None,
    **args: Any,
) -> dict:
    queryset = WebhookSubscription.objects.filter(shop=_shop(info))
    if topics:
        queryset = queryset.filter(topic__in=topics)
    if callbackUrl:
        queryset = queryset.filter(callback_url=callbackUrl)
    if format:
        queryset = queryset.filter(format=format)
    return queryset_connection(queryset, ["legacy_id"], **args)


@resolves("QueryRoot", "webhookSubscriptionsCount")
def _webhook_count(root: Any, info: Info, query: str | None = None) -> dict:
    return count_object(WebhookSubscription.objects.filter(shop=_shop(info)).count())


@resolves("QueryRoot", "order")
def _order(root: Any, info: Info, id: str) -> Any:
    return _one(info, id, "Order")


@resolves("QueryRoot", "orders")
def _orders(root: Any, info: Info, query: str | None = None, **args: Any) -> dict:
    queryset = Order.objects.filter(shop=_shop(info))
    condition = search.to_q(query, search.ORDER_FIELDS, free_text_field="email")
    if condition:
        queryset = queryset.filter(condition)
    return queryset_connection(queryset, ["legacy_id"], **args)
