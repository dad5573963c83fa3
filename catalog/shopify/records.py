"""Shopify products in one normalized shape, from GraphQL nodes or REST webhook payloads.

The import (GraphQL, string ids, ``selectedOptions``, upper-case enums) and the webhooks
(REST, numeric ids, ``option1..3``, lower-case enums, comma-separated tags) describe the
same product differently (docs/shopify-api.md §6). Both are parsed here into the same records, so
an import and a webhook carrying the same Shopify state store exactly the same values:
re-applying it changes nothing and marks nothing PENDING.

Parsing never raises on odd values: prices that are not numbers or are negative become
0 (local validation then fails the variant with a reason), absurd quantities are
clamped to what the database column holds, over-long strings are cut to the column.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

from .client import gid_number
from .queries import METAFIELD_KEYS

logger = logging.getLogger(__name__)

# Column limits (catalog.models.products) and numeric bounds of the columns.
HANDLE_MAX = 255
PRODUCT_TITLE_MAX = 512
LABEL_MAX = 255
URL_MAX = 1000
# A collection's description HTML as kept (Meta gets plain text, catalog.sync.product_sets).
DESCRIPTION_MAX = 65_536
MAX_PRICE = Decimal("999999999999.99")  # DecimalField(max_digits=14, decimal_places=2)
INT32_MAX = 2_147_483_647
INT32_MIN = -2_147_483_648
PRODUCT_STATUSES = ("ACTIVE", "DRAFT", "ARCHIVED", "UNLISTED")
CATEGORY_MAX = 1000  # Product.shopify_category
METAFIELD_VALUE_MAX = 255
# Videos kept per product (Meta takes a few; Shopify allows many media).
VIDEOS_MAX = 10


@dataclass
class VariantRecord:
    shopify_variant_id: int
    shopify_product_id: int
    title: str = ""
    sku: str = ""
    options: dict = field(default_factory=dict)
    position: int = 1
    price: Decimal = Decimal("0")
    compare_at_price: Decimal | None = None
    inventory_quantity: int = 0
    inventory_policy: str = "DENY"
    # None: the payload does not say (recent product webhooks omit it); keep what we have.
    inventory_tracked: bool | None = None
    inventory_item_id: int | None = None
    image_url: str = ""
    shopify_updated_at: datetime | None = None


@dataclass
class ProductRecord:
    shopify_product_id: int
    handle: str = ""
    title: str = ""
    description_html: str = ""
    vendor: str = ""
    product_type: str = ""
    status: str = "ACTIVE"
    published: bool = True
    tags: list = field(default_factory=list)
    images: list = field(default_factory=list)
    shopify_updated_at: datetime | None = None
    # None below: the source did not say (a webhook of an API version without the field,
    # a payload without metafields); the stored value is kept, never wiped.
    shopify_category_id: str | None = None
    shopify_category: str | None = None
    videos: list | None = None
    metafields: dict | None = None
    variants: list[VariantRecord] = field(default_factory=list)
    # When this record's state was read, if it differs from the rest of its upsert call
    # (a batch of webhooks, each triggered at its own time); None: the call's observed_at.
    observed_at: datetime | None = None


@dataclass
class CollectionRecord:
    shopify_collection_id: int
    title: str = ""
    handle: str = ""
    shopify_updated_at: datetime | None = None
    # None: the source did not say (a webhook body without them keeps what is stored).
    description_html: str | None = None
    image_url: str | None = None


# -- scalar helpers -------------------------------------------------------------------


def money(value) -> Decimal:
    """A Shopify Money string as a Decimal the column holds (bad or negative -> 0)."""
    if value is None or value == "":
        return Decimal("0")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return Decimal("0")
    if not amount.is_finite() or amount < 0:
        return Decimal("0")
    return min(amount, MAX_PRICE).quantize(Decimal("0.01"))


def optional_money(value) -> Decimal | None:
    if value is None or value == "":
        return None
    amount = money(value)
    return amount if amount > 0 else None


def quantity(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return max(INT32_MIN, min(INT32_MAX, number))


def timestamp(value) -> datetime | None:
    """A Shopify time, cut to whole seconds (GraphQL and REST both give seconds; be sure)."""
    if not value:
        return None
    try:
        parsed = parse_datetime(str(value))
    except ValueError:
        return None
    return parsed.replace(microsecond=0) if parsed else None


def text(value, limit: int) -> str:
    return ("" if value is None else str(value))[:limit]


def url(value) -> str:
    value = "" if value is None else str(value)
    return value if len(value) <= URL_MAX else ""


def status(value) -> str:
    upper = str(value or "").upper()
    return upper if upper in PRODUCT_STATUSES else "DRAFT"


def policy(value) -> str:
    return "CONTINUE" if str(value or "").upper() == "CONTINUE" else "DENY"


def tag_list(value) -> list[str]:
    """Tags as a sorted list (GraphQL gives a list, REST one comma-separated string)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return sorted({str(t).strip() for t in items if str(t).strip()})


# -- GraphQL ----------------------------------------------------------------------------


def _image(image: dict | None) -> dict | None:
    if not image or not image.get("url"):
        return None
    return {"src": url(image["url"]), "alt": image.get("altText") or ""}


def graphql_images(node: dict, media_nodes: list[dict] | None) -> list[dict]:
    """Product images in order, the featured one first (GraphQL ``media`` + ``featuredMedia``)."""
    images: list[dict] = []
    for media in media_nodes or []:
        if media.get("mediaContentType") not in (None, "IMAGE"):
            continue
        image = _image(((media.get("preview") or {}).get("image")) or media.get("image"))
        if image and image["src"] and image["src"] not in {i["src"] for i in images}:
            images.append(image)
    featured = _image((((node.get("featuredMedia") or {}).get("preview")) or {}).get("image"))
    if featured and featured["src"]:
        images = [featured] + [i for i in images if i["src"] != featured["src"]]
    return images


def _video_url(sources: object) -> str:
    """The video file Meta can fetch: an MP4 source if there is one, else the first source."""
    candidates = [s for s in sources if isinstance(s, dict) and s.get("url")] if isinstance(sources, list) else []
    mp4 = [s for s in candidates if "mp4" in str(s.get("mimeType") or s.get("format") or "").lower()]
    chosen = (mp4 or candidates or [{}])[0]
    return url(chosen.get("url"))


def graphql_videos(media_nodes: list[dict] | None) -> list[dict]:
    """The product's video media (``... on Video { sources }``) as [{"id", "url"}], in order.

    External videos (YouTube, Vimeo) are left out: Meta's ``video`` needs a file it can
    download, not a player page.
    """
    videos: list[dict] = []
    for media in media_nodes or []:
        if media.get("mediaContentType") != "VIDEO":
            continue
        if (source := _video_url(media.get("sources"))) and source not in {v["url"] for v in videos}:
            videos.append({"id": str(media.get("id") or ""), "url": source})
    return videos[:VIDEOS_MAX]


def metafield_values(nodes: object) -> dict[str, str]:
    """The metafields Galantis reads, as {"namespace.key": value} (others ignored)."""
    values: dict[str, str] = {}
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            continue
        key = f"{node.get('namespace') or ''}.{node.get('key') or ''}"
        value = node.get("value")
        if key in METAFIELD_KEYS and value is not None and str(value).strip():
            values[key] = str(value).strip()[:METAFIELD_VALUE_MAX]
    return dict(sorted(values.items()))


def category_parts(category: object) -> tuple[str, str]:
    """(gid, full name) of a Shopify product category, GraphQL or REST shape; ("", "") when none."""
    if not isinstance(category, dict):
        return "", ""
    gid = category.get("id") or category.get("admin_graphql_api_id") or ""
    full_name = category.get("fullName") or category.get("full_name") or category.get("name") or ""
    return text(gid, LABEL_MAX), text(full_name, CATEGORY_MAX)


def variant_from_graphql(node: dict, shopify_product_id: int) -> VariantRecord | None:
    variant_id = gid_number(node.get("legacyResourceId")) or gid_number(node.get("id"))
    if variant_id is None:
        return None
    item = node.get("inventoryItem") or {}
    tracked = item.get("tracked")
    return VariantRecord(
        shopify_variant_id=variant_id,
        shopify_product_id=shopify_product_id,
        title=text(node.get("title"), LABEL_MAX),
        sku=text(node.get("sku"), LABEL_MAX),
        options={
            text(o.get("name"), LABEL_MAX): text(o.get("value"), LABEL_MAX)
            for o in node.get("selectedOptions") or []
            if o and o.get("name")
        },
        position=max(1, quantity(node.get("position") or 1)),
        price=money(node.get("price")),
        compare_at_price=optional_money(node.get("compareAtPrice")),
        inventory_quantity=quantity(node.get("inventoryQuantity")),
        inventory_policy=policy(node.get("inventoryPolicy")),
        inventory_tracked=None if tracked is None else bool(tracked),
        inventory_item_id=gid_number(item.get("legacyResourceId")) or gid_number(item.get("id")),
        image_url=url(((node.get("image") or {}).get("url")) or ""),
        shopify_updated_at=timestamp(node.get("updatedAt")),
    )


def product_from_graphql(
    node: dict,
    *,
    media_nodes: list[dict] | None = None,
    variant_nodes: list[dict] | None = None,
    metafield_nodes: list[dict] | None = None,
) -> ProductRecord | None:
    """A product node of the paged query (connections inline) or a bulk JSONL line (children passed apart)."""
    product_id = gid_number(node.get("legacyResourceId")) or gid_number(node.get("id"))
    if product_id is None:
        return None
    if media_nodes is None:
        media_nodes = _connection_nodes(node.get("media"))
    if variant_nodes is None:
        variant_nodes = _connection_nodes(node.get("variants"))
    if metafield_nodes is None and "metafields" in node:
        metafield_nodes = _connection_nodes(node.get("metafields"))
    category_id, category = category_parts(node.get("category")) if "category" in node else (None, None)
    record = ProductRecord(
        shopify_product_id=product_id,
        handle=text(node.get("handle"), HANDLE_MAX),
        title=text(node.get("title"), PRODUCT_TITLE_MAX),
        description_html=node.get("descriptionHtml") or "",
        vendor=text(node.get("vendor"), LABEL_MAX),
        product_type=text(node.get("productType"), LABEL_MAX),
        status=status(node.get("status")),
        # publishedAt (not onlineStoreUrl, which is also null for drafts) matches the
        # webhooks' published_at, so both sources store the same value.
        published=bool(node.get("publishedAt")),
        tags=tag_list(node.get("tags")),
        images=graphql_images(node, media_nodes),
        shopify_updated_at=timestamp(node.get("updatedAt")),
        shopify_category_id=category_id,
        shopify_category=category,
        videos=graphql_videos(media_nodes),
        metafields=None if metafield_nodes is None else metafield_values(metafield_nodes),
    )
    record.variants = [v for v in (variant_from_graphql(n, product_id) for n in variant_nodes) if v]
    return record


def collection_from_graphql(node: dict) -> CollectionRecord | None:
    collection_id = gid_number(node.get("legacyResourceId")) or gid_number(node.get("id"))
    return _collection(collection_id, node, updated_at="updatedAt", description="descriptionHtml", image_url="url")


def _collection(
    collection_id: int | None, fields: dict, *, updated_at: str, description: str, image_url: str
) -> CollectionRecord | None:
    """A collection as either API sends it: the same fields, under the key names given.

    A description or an image the payload does not carry stays None (unknown), not empty.
    """
    if collection_id is None:
        return None
    return CollectionRecord(
        shopify_collection_id=collection_id,
        title=text(fields.get("title"), LABEL_MAX),
        handle=text(fields.get("handle"), HANDLE_MAX),
        shopify_updated_at=timestamp(fields.get(updated_at)),
        description_html=text(fields[description], DESCRIPTION_MAX) if description in fields else None,
        image_url=url((fields.get("image") or {}).get(image_url)) if "image" in fields else None,
    )


def _connection_nodes(connection: dict | None) -> list[dict]:
    if not connection:
        return []
    if connection.get("nodes") is not None:
        return list(connection["nodes"])
    return [edge["node"] for edge in connection.get("edges") or []]


# -- REST (webhooks) -------------------------------------------------------------------------


def _rest_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return gid_number(value) if value else None


def product_from_rest(payload: dict) -> ProductRecord | None:
    """A ``products/create`` / ``products/update`` body (REST product, 2024-10+ shape)."""
    product_id = _rest_id(payload.get("id"))
    if product_id is None:
        return None
    rest_images = [i for i in payload.get("images") or [] if isinstance(i, dict)]
    rest_images.sort(key=lambda i: (quantity(i.get("position") or 0), str(i.get("id"))))
    images: list[dict] = []
    for image in rest_images:
        src = url(image.get("src"))
        if src and src not in {i["src"] for i in images}:
            images.append({"src": src, "alt": image.get("alt") or ""})
    featured = payload.get("image") if isinstance(payload.get("image"), dict) else None
    if featured and featured.get("src"):
        src = url(featured["src"])
        images = [{"src": src, "alt": featured.get("alt") or ""}] + [i for i in images if i["src"] != src]
    image_by_id = {_rest_id(i.get("id")): url(i.get("src")) for i in rest_images}
    option_names = {
        quantity(o.get("position") or n): text(o.get("name"), LABEL_MAX)
        for n, o in enumerate(payload.get("options") or [], start=1)
        if isinstance(o, dict)
    }
    # Fields a payload may lack (older API versions, subscriptions without metafield
    # namespaces, include_fields) stay None: what is stored is kept.
    category_id, category = category_parts(payload.get("category")) if "category" in payload else (None, None)
    record = ProductRecord(
        shopify_product_id=product_id,
        handle=text(payload.get("handle"), HANDLE_MAX),
        title=text(payload.get("title"), PRODUCT_TITLE_MAX),
        description_html=payload.get("body_html") or "",
        vendor=text(payload.get("vendor"), LABEL_MAX),
        product_type=text(payload.get("product_type"), LABEL_MAX),
        status=status(payload.get("status") or "active"),
        published=bool(payload.get("published_at")),
        tags=tag_list(payload.get("tags")),
        images=images,
        shopify_updated_at=timestamp(payload.get("updated_at")),
        shopify_category_id=category_id,
        shopify_category=category,
        videos=_rest_videos(payload.get("media")) if "media" in payload else None,
        metafields=metafield_values(payload["metafields"]) if "metafields" in payload else None,
    )
    for variant in payload.get("variants") or []:
        if not isinstance(variant, dict) or _rest_id(variant.get("id")) is None:
            continue
        options = {}
        for position in (1, 2, 3):
            value = variant.get(f"option{position}")
            if value is not None and option_names.get(position):
                options[option_names[position]] = text(value, LABEL_MAX)
        # Older payloads say "inventory_management": "shopify" | null; recent ones omit it.
        tracked = variant.get("inventory_management") is not None if "inventory_management" in variant else None
        record.variants.append(
            VariantRecord(
                shopify_variant_id=_rest_id(variant["id"]),
                shopify_product_id=product_id,
                title=text(variant.get("title"), LABEL_MAX),
                sku=text(variant.get("sku"), LABEL_MAX),
                options=options,
                position=max(1, quantity(variant.get("position") or 1)),
                price=money(variant.get("price")),
                compare_at_price=optional_money(variant.get("compare_at_price")),
                inventory_quantity=quantity(variant.get("inventory_quantity")),
                inventory_policy=policy(variant.get("inventory_policy")),
                inventory_tracked=tracked,
                inventory_item_id=_rest_id(variant.get("inventory_item_id")),
                image_url=image_by_id.get(_rest_id(variant.get("image_id")), "") if variant.get("image_id") else "",
                shopify_updated_at=timestamp(variant.get("updated_at")),
            )
        )
    return record


def _rest_videos(media: object) -> list | None:
    """Videos from a webhook's ``media``: [] when it lists none, None (keep) when it lists some.

    REST media entries name a video (``media_content_type: VIDEO``) but carry only its
    preview image, not the file: a product that has videos keeps the ones the import
    read (the reconciliation import brings new ones); one whose media list no video
    has none.
    """
    if not isinstance(media, list):
        return None
    has_video = any(isinstance(m, dict) and m.get("media_content_type") == "VIDEO" for m in media)
    return None if has_video else []


def collection_from_rest(payload: dict) -> CollectionRecord | None:
    return _collection(
        _rest_id(payload.get("id")), payload, updated_at="updated_at", description="body_html", image_url="src"
    )
