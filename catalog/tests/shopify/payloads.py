"""Shopify-shaped test data: GraphQL product nodes and REST webhook bodies (docs/shopify-api.md §2, §6)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

# A key left out of a payload (what older API versions and filtered webhooks do).
OMIT = object()


def gql_variant(
    variant_id: int,
    *,
    price="20.00",
    compare_at=None,
    sku="SKU",
    qty=5,
    tracked=True,
    policy="DENY",
    options=(("Size", "M"),),
    updated_at="2025-03-04T15:00:00Z",
    image_url=None,
    item_id=None,
) -> dict:
    return {
        "id": f"gid://shopify/ProductVariant/{variant_id}",
        "legacyResourceId": str(variant_id),
        "title": " / ".join(v for _, v in options) or "Default Title",
        "sku": sku,
        "price": price,
        "compareAtPrice": compare_at,
        "position": 1,
        "inventoryQuantity": qty,
        "inventoryPolicy": policy,
        "inventoryItem": {
            "id": f"gid://shopify/InventoryItem/{item_id or variant_id + 1000}",
            "legacyResourceId": str(item_id or variant_id + 1000),
            "tracked": tracked,
        },
        "selectedOptions": [{"name": n, "value": v} for n, v in options],
        "image": {"url": image_url, "altText": None} if image_url else None,
        "updatedAt": updated_at,
    }


def gql_product(
    product_id: int,
    variants: list[dict],
    *,
    title="Cedar Candle",
    status="ACTIVE",
    updated_at="2025-03-04T15:00:00Z",
    published=True,
    images=("https://cdn.shopify.com/a.jpg",),
    tags=("candle", "cedar"),
    description_html="<p>Smells of cedar &amp; smoke.</p>",
    category=OMIT,
    videos=(),
    metafields=OMIT,
) -> dict:
    """A Product node as the paged query returns it (``category``/``metafields``: OMIT leaves the key out)."""
    media = [
        {
            "id": f"gid://shopify/MediaImage/{product_id}{n}",
            "mediaContentType": "IMAGE",
            "preview": {"image": {"url": url, "altText": None}},
        }
        for n, url in enumerate(images)
    ] + [
        {
            "id": f"gid://shopify/Video/{product_id}{n}",
            "mediaContentType": "VIDEO",
            "preview": {"image": {"url": f"{url}.jpg", "altText": None}},
            "sources": [
                {"url": f"{url}.m3u8", "mimeType": "application/x-mpegURL"},
                {"url": url, "mimeType": "video/mp4"},
            ],
        }
        for n, url in enumerate(videos)
    ]
    extra: dict = {}
    if category is not OMIT:
        extra["category"] = (
            None
            if category is None
            else {
                "id": f"gid://shopify/TaxonomyCategory/{category[0]}",
                "name": category[1].split(" > ")[-1],
                "fullName": category[1],
            }
        )
    if metafields is not OMIT:
        extra["metafields"] = {
            "nodes": [
                {
                    "namespace": key.split(".", 1)[0],
                    "key": key.split(".", 1)[1],
                    "value": value,
                    "type": "single_line_text_field",
                }
                for key, value in metafields.items()
            ]
        }
    return {
        **extra,
        "id": f"gid://shopify/Product/{product_id}",
        "legacyResourceId": str(product_id),
        "title": title,
        "handle": title.lower().replace(" ", "-"),
        "descriptionHtml": description_html,
        "vendor": "Example Studio",
        "productType": "Candles",
        "status": status,
        "tags": list(tags),
        "onlineStoreUrl": f"https://example.com/products/{product_id}" if published and status == "ACTIVE" else None,
        "publishedAt": "2025-03-01T10:00:00Z" if published else None,
        "updatedAt": updated_at,
        "featuredMedia": media[0] if media else None,
        "media": {"nodes": media},
        "variants": {"nodes": variants, "pageInfo": {"hasNextPage": False, "endCursor": None}},
    }


def rest_product(
    product_id: int,
    variants: list[dict],
    *,
    title="Cedar Candle",
    status="active",
    updated_at="2025-03-04T10:00:00-05:00",
    published=True,
    images=("https://cdn.shopify.com/a.jpg",),
    tags="cedar, candle",
    description_html="<p>Smells of cedar &amp; smoke.</p>",
    category=OMIT,
    videos=(),
    metafields=OMIT,
) -> dict:
    """A ``products/update`` body (``category``/``metafields``: OMIT leaves the key out, as older versions do)."""
    rest_images = [
        {"id": 39000 + n, "product_id": product_id, "position": n + 1, "src": url, "alt": None, "variant_ids": []}
        for n, url in enumerate(images)
    ]
    # REST media name videos but carry only their preview image, never the file.
    media = [
        {
            "id": 38000 + n,
            "product_id": product_id,
            "position": n + 1,
            "media_content_type": "IMAGE",
            "status": "READY",
            "preview_image": {"src": url, "status": "READY"},
            "admin_graphql_api_id": f"gid://shopify/MediaImage/{38000 + n}",
        }
        for n, url in enumerate(images)
    ] + [
        {
            "id": 37000 + n,
            "product_id": product_id,
            "position": len(images) + n + 1,
            "media_content_type": "VIDEO",
            "status": "READY",
            "preview_image": {"src": f"{url}.jpg", "status": "READY"},
            "admin_graphql_api_id": f"gid://shopify/Video/{37000 + n}",
        }
        for n, url in enumerate(videos)
    ]
    extra: dict = {}
    if category is not OMIT:
        extra["category"] = (
            None
            if category is None
            else {
                "admin_graphql_api_id": f"gid://shopify/TaxonomyCategory/{category[0]}",
                "name": category[1].split(" > ")[-1],
                "full_name": category[1],
            }
        )
    if metafields is not OMIT:
        extra["metafields"] = [
            {
                "id": 36000 + n,
                "namespace": key.split(".", 1)[0],
                "key": key.split(".", 1)[1],
                "value": value,
                "type": "single_line_text_field",
                "owner_id": product_id,
                "owner_resource": "product",
            }
            for n, (key, value) in enumerate(metafields.items())
        ]
    return {
        **extra,
        "id": product_id,
        "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
        "title": title,
        "body_html": description_html,
        "vendor": "Example Studio",
        "product_type": "Candles",
        "handle": title.lower().replace(" ", "-"),
        "status": status,
        "published_at": "2025-03-01T05:00:00-05:00" if published else None,
        "tags": tags,
        "updated_at": updated_at,
        "variants": variants,
        "options": [{"id": 1, "product_id": product_id, "name": "Size", "position": 1, "values": ["M"]}],
        "images": rest_images,
        "image": rest_images[0] if rest_images else None,
        "media": media,
        "variant_gids": [
            {"admin_graphql_api_id": f"gid://shopify/ProductVariant/{v['id']}", "updated_at": v.get("updated_at")}
            for v in variants
        ],
    }


def rest_variant(
    variant_id: int,
    product_id: int,
    *,
    price="20.00",
    compare_at=None,
    sku="SKU",
    qty=5,
    policy="deny",
    size="M",
    updated_at="2025-03-04T10:00:00-05:00",
    item_id=None,
    inventory_management="shopify",
) -> dict:
    """A REST variant; ``inventory_management=...`` (absent from 2024-10+ payloads) is left out when OMIT."""
    extra = {} if inventory_management is OMIT else {"inventory_management": inventory_management}
    return {
        **extra,
        "id": variant_id,
        "product_id": product_id,
        "title": size,
        "price": price,
        "compare_at_price": compare_at,
        "sku": sku,
        "position": 1,
        "inventory_policy": policy,
        "option1": size,
        "option2": None,
        "option3": None,
        "image_id": None,
        "inventory_item_id": item_id or variant_id + 1000,
        "inventory_quantity": qty,
        "admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant_id}",
        "updated_at": updated_at,
    }


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_headers(
    store,
    topic: str,
    body: bytes,
    *,
    event_id="evt-1",
    webhook_id="wh-1",
    secret=None,
    triggered_at="2025-03-04T15:00:01Z",
) -> dict:
    """Headers as Django's test client takes them (HTTP_X_SHOPIFY_...)."""
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body, secret if secret is not None else store.webhook_secret),
        "X-Shopify-Shop-Domain": store.shop_domain,
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered_at,
    }
    return {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if v is not None}


def dumps(payload) -> bytes:
    return json.dumps(payload).encode()
