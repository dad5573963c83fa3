"""REST-shaped webhook bodies (docs/shopify-api.md §6): what Shopify POSTs for each topic.

Ids are JSON numbers, prices strings, `status` and `inventory_policy` lowercase, `tags` one
comma-separated string, times in the shop's offset. `dumps()` encodes like Rails does
(`<`, `>`, `&` escaped as \\u003c, \\u003e, \\u0026; other characters kept as UTF-8), which
is why receivers must verify the HMAC over the raw bytes.
"""

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from .models import Collection, InventoryLevel, Order, Product, ProductImage, Shop, Variant


def rest_time(value: dt.datetime | None, shop: Shop) -> str | None:
    """``2025-03-04T10:15:00-05:00`` in the shop's time zone."""
    if value is None:
        return None
    try:
        zone = ZoneInfo(shop.iana_timezone)
    except (KeyError, ValueError):
        zone = dt.UTC
    return value.astimezone(zone).isoformat(timespec="seconds")


def money(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


def dumps(payload: Any) -> bytes:
    """Rails-style JSON bytes of a webhook body."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8")


def _image(image: ProductImage, product: Product, variant_ids: list[int], shop: Shop) -> dict[str, Any]:
    return {
        "id": image.legacy_id,
        "alt": image.alt_text,
        "position": image.position,
        "product_id": product.legacy_id,
        "created_at": rest_time(image.created_at, shop),
        "updated_at": rest_time(image.updated_at, shop),
        "admin_graphql_api_id": image.gid,
        "width": image.width,
        "height": image.height,
        "src": image.url,
        "variant_ids": variant_ids,
    }


def _variant(variant: Variant, product: Product, shop: Shop) -> dict[str, Any]:
    return {
        "id": variant.legacy_id,
        "product_id": product.legacy_id,
        "title": variant.title,
        "price": money(variant.price),
        "position": variant.position,
        "inventory_policy": variant.inventory_policy.lower(),
        "compare_at_price": money(variant.compare_at_price),
        "option1": variant.option1,
        "option2": variant.option2,
        "option3": variant.option3,
        "created_at": rest_time(variant.created_at, shop),
        "updated_at": rest_time(variant.updated_at, shop),
        "taxable": variant.taxable,
        "barcode": variant.barcode,
        "sku": variant.sku,
        "inventory_item_id": variant.inventory_item_legacy_id,
        "inventory_quantity": variant.inventory_quantity,
        "old_inventory_quantity": variant.inventory_quantity,
        "admin_graphql_api_id": variant.gid,
        "image_id": variant.image.legacy_id if variant.image_id else None,
    }


def product(product: Product) -> dict[str, Any]:
    """Body of ``products/create`` and ``products/update``."""
    shop = product.shop
    variants = sorted(product.variants.select_related("image"), key=lambda v: (v.position, v.legacy_id))
    images = sorted(product.images.all(), key=lambda i: (i.position, i.legacy_id))
    image_variants: dict[int, list[int]] = {}
    for variant in variants:
        if variant.image_id:
            image_variants.setdefault(variant.image_id, []).append(variant.legacy_id)
    image_rows = [_image(image, product, image_variants.get(image.pk, []), shop) for image in images]
    return {
        "admin_graphql_api_id": product.gid,
        "body_html": product.description_html,
        "created_at": rest_time(product.created_at, shop),
        "handle": product.handle,
        "id": product.legacy_id,
        "product_type": product.product_type,
        "published_at": rest_time(product.published_at, shop),
        "template_suffix": product.template_suffix,
        "title": product.title,
        "updated_at": rest_time(product.updated_at, shop),
        "vendor": product.vendor,
        "status": product.status.lower(),
        "published_scope": "global",
        "tags": ", ".join(product.tags),
        "variants": [_variant(variant, product, shop) for variant in variants],
        "options": [
            {
                "name": option["name"],
                "id": option["id"],
                "product_id": product.legacy_id,
                "position": option.get("position", index),
                "values": option["values"],
            }
            for index, option in enumerate(product.options, start=1)
        ],
        "images": image_rows,
        "image": image_rows[0] if image_rows else None,
        "media": [
            {
                "id": image.media_legacy_id,
                "product_id": product.legacy_id,
                "position": image.position,
                "created_at": rest_time(image.created_at, shop),
                "updated_at": rest_time(image.updated_at, shop),
                "alt": image.alt_text,
                "status": "READY",
                "media_content_type": "IMAGE",
                "preview_image": {"width": image.width, "height": image.height, "src": image.url, "status": "READY"},
                "variant_ids": image_variants.get(image.pk, []),
                "admin_graphql_api_id": image.media_gid,
            }
            for image in images
        ]
        + [
            # REST media name a video and its preview image, never the video file itself.
            {
                "id": video["id"],
                "product_id": product.legacy_id,
                "position": len(images) + n,
                "created_at": rest_time(product.created_at, shop),
                "updated_at": rest_time(product.updated_at, shop),
                "alt": video.get("alt"),
                "status": "READY",
                "media_content_type": "VIDEO",
                "preview_image": {"width": 1920, "height": 1080, "src": video.get("preview_url"), "status": "READY"},
                "variant_ids": [],
                "admin_graphql_api_id": f"gid://shopify/Video/{video['id']}",
            }
            for n, video in enumerate(product.videos or [], start=1)
        ],
        "variant_gids": [
            {"admin_graphql_api_id": variant.gid, "updated_at": dt_utc(variant.updated_at)} for variant in variants
        ],
        "has_variants_that_requires_components": False,
        "category": _category(product),
    }


# Product webhooks carry the product's taxonomy category from this API version on (older
# versions have no such key; sandbox.shopify.webhooks drops it for them).
CATEGORY_FROM_VERSION = "2024-07"


def _category(product: Product) -> dict[str, Any] | None:
    if not product.category_id:
        return None
    full_name = " > ".join(part.strip() for part in product.category_full_name.split(">"))
    return {
        "admin_graphql_api_id": f"gid://shopify/TaxonomyCategory/{product.category_id}",
        "name": full_name.rsplit(" > ", 1)[-1],
        "full_name": full_name,
    }


def dt_utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def product_deleted(legacy_id: int) -> dict[str, Any]:
    """Body of ``products/delete``: the id only."""
    return {"id": legacy_id}


def inventory_level(level: InventoryLevel) -> dict[str, Any]:
    """Body of ``inventory_levels/update`` (one item at one location)."""
    item = level.variant.inventory_item_legacy_id
    return {
        "inventory_item_id": item,
        "location_id": level.location.legacy_id,
        "available": level.available,
        "updated_at": rest_time(level.updated_at, level.variant.shop),
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{level.location.legacy_id}?inventory_item_id={item}",
    }


def inventory_item(variant: Variant) -> dict[str, Any]:
    """Body of ``inventory_items/update``."""
    shop = variant.shop
    return {
        "id": variant.inventory_item_legacy_id,
        "sku": variant.sku or "",
        "created_at": rest_time(variant.created_at, shop),
        "updated_at": rest_time(variant.updated_at, shop),
        "requires_shipping": variant.requires_shipping,
        "cost": None,
        "country_code_of_origin": None,
        "province_code_of_origin": None,
        "harmonized_system_code": None,
        "tracked": variant.tracked,
        "country_harmonized_system_codes": [],
        "admin_graphql_api_id": variant.inventory_item_gid,
    }


def collection(collection: Collection) -> dict[str, Any]:
    """Body of ``collections/create`` and ``collections/update``."""
    shop = collection.shop
    return {
        "id": collection.legacy_id,
        "handle": collection.handle,
        "title": collection.title,
        "updated_at": rest_time(collection.updated_at, shop),
        "body_html": collection.description_html,
        "published_at": rest_time(collection.published_at, shop),
        "sort_order": collection.sort_order.lower().replace("_", "-"),
        "template_suffix": None,
        "published_scope": "web",
        "admin_graphql_api_id": collection.gid,
    }


def collection_deleted(legacy_id: int) -> dict[str, Any]:
    return {"id": legacy_id, "published_scope": "web"}


def order(order: Order) -> dict[str, Any]:
    """Body of ``orders/create`` / ``orders/paid`` with the fields the CAPI path reads."""
    shop = order.shop
    total = money(order.total_price)
    return {
        "id": order.legacy_id,
        "admin_graphql_api_id": order.gid,
        "name": order.name,
        "order_number": order.number,
        "number": order.number - 1000,
        "email": order.email or None,
        "contact_email": order.email or None,
        "phone": order.phone or None,
        "currency": order.currency,
        "presentment_currency": order.currency,
        "total_price": total,
        "subtotal_price": total,
        "current_total_price": total,
        "total_tax": "0.00",
        "financial_status": order.financial_status,
        "processed_at": rest_time(order.processed_at, shop),
        "created_at": rest_time(order.created_at, shop),
        "updated_at": rest_time(order.updated_at, shop),
        "browser_ip": order.browser_ip,
        "client_details": {"browser_ip": order.browser_ip, "user_agent": order.user_agent or None},
        "landing_site": order.landing_site or None,
        "customer": order.customer or None,
        "billing_address": order.billing_address or None,
        "test": True,
        "line_items": [
            {
                "id": line["id"],
                "admin_graphql_api_id": f"gid://shopify/LineItem/{line['id']}",
                "product_id": line["product_id"],
                "variant_id": line["variant_id"],
                "sku": line.get("sku"),
                "title": line["title"],
                "variant_title": line.get("variant_title"),
                "quantity": line["quantity"],
                "price": line["price"],
            }
            for line in order.line_items
        ],
    }


def shop(shop: Shop) -> dict[str, Any]:
    """Body of ``app/uninstalled`` and ``shop/update`` (the REST shop object)."""
    host = shop.storefront_url.split("://", 1)[-1]
    return {
        "id": shop.pk,
        "name": shop.name,
        "email": shop.email or f"owner@{shop.domain}",
        "domain": host,
        "myshopify_domain": shop.domain,
        "currency": shop.currency_code,
        "iana_timezone": shop.iana_timezone,
        "plan_name": "basic",
        "created_at": rest_time(shop.created_at, shop),
        "updated_at": rest_time(shop.created_at, shop),
    }
