"""What a Batch API call or a feed row is built from: plain variant rows and each product's part.

Variants are read as tuples of exactly the fields ``items.meta_item`` reads (model
instances with every timestamp and JSON column were half of a push's CPU), and each
product's part of the item is built once. Shared by the push, the feeds, the
volatile-first calls and the drift scan.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

from django.db.models import QuerySet

from catalog import items
from catalog.item_state import DELETE, SKIP
from catalog.models import Product, ShopifyStore, SyncBatch, Variant

# What ``items.meta_item`` reads of a variant, and of its product (the rest is never loaded:
# building model instances with every timestamp and JSON column was half of a push's CPU).
VARIANT_ITEM_FIELDS = (
    "retailer_id",
    "shopify_variant_id",
    "inventory_tracked",
    "inventory_quantity",
    "inventory_policy",
    "image_url",
    "removed_at",
    "compare_at_price",
    "price",
    "options",
    "previous_id",
)
PRODUCT_ITEM_FIELDS = (
    "store_id",
    "shopify_product_id",
    *Product.SHOPIFY_CONTENT_FIELDS,
    "removed_at",
    "excluded_from_meta",
    "fb_product_category",
    "google_product_category",
    "gender",
    "age_group",
    *(f"custom_label_{n}" for n in range(5)),
    "shopify_category",
    "videos",
    "metafields",
    "meta_group_id",
)
# Whether Meta holds a version of the item (a locally invalid one is then hidden, not left live).
HELD_FIELDS = ("synced_hash", "meta_item_id", "meta_deleted_at", "in_replace_feed_at")
ROW_FIELDS = (
    "pk",
    "product_id",
    "in_flight_method",
    "in_flight_hash",
    "in_flight_mask",
    *HELD_FIELDS,
    *VARIANT_ITEM_FIELDS,
)
VariantRow = namedtuple("VariantRow", ROW_FIELDS)


class ProductRow(namedtuple("ProductRow", ("pk", *PRODUCT_ITEM_FIELDS))):
    """What ``items.product_fields`` reads of a product, as a plain row: a model instance per
    product (``from_db``, its signals, ``__init__``) cost a tenth of encoding a push batch."""

    __slots__ = ()
    item_group_id = Product.item_group_id
    featured_image_url = Product.featured_image_url


def product_rows(products: QuerySet[Product]) -> list[ProductRow]:
    """``products`` as :class:`ProductRow` tuples, in no particular order."""
    return [ProductRow._make(row) for row in products.order_by().values_list("pk", *PRODUCT_ITEM_FIELDS)]


def held_by_meta(row: VariantRow) -> bool:
    """Meta has (or may have) a version of this item: it was accepted once and not deleted since."""
    return bool(row.synced_hash or row.meta_item_id) and row.meta_deleted_at is None


@dataclass
class EncodedRequests:
    """The items_batch ``requests`` of one batch, already JSON-encoded (a JSON array, UTF-8)."""

    count: int
    json: bytes


def item_sources(batch: SyncBatch) -> tuple[list[VariantRow], dict[int, items.ProductFields]]:
    """The batch's variants (plain rows, pk order) and the item fields of each of their products.

    Three statements whatever the batch size: variants, their products, their stores.
    """
    in_batch = Variant.objects.filter(in_flight_batch=batch)
    rows = [VariantRow._make(row) for row in in_batch.order_by("pk").values_list(*ROW_FIELDS)]
    products = product_rows(
        Product.objects.filter(pk__in=in_batch.exclude(in_flight_method__in=(SKIP, DELETE)).values("product_id"))
    )
    stores = {
        store.pk: store
        for store in ShopifyStore.objects.filter(pk__in={p.store_id for p in products}).defer(
            "access_token", "webhook_secret"
        )
    }
    return rows, {product.pk: items.product_fields(product, stores[product.store_id]) for product in products}


def product_fields_for(product_ids: set[int], stores: dict[int, ShopifyStore]) -> dict[int, items.ProductFields]:
    """The item fields of each product (one query; stores are read once and kept in ``stores``)."""
    products = product_rows(Product.objects.filter(pk__in=product_ids))
    if missing := {p.store_id for p in products} - stores.keys():
        stores.update(
            (store.pk, store)
            for store in ShopifyStore.objects.filter(pk__in=missing).defer("access_token", "webhook_secret")
        )
    return {product.pk: items.product_fields(product, stores[product.store_id]) for product in products}
