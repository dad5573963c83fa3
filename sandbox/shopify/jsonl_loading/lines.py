"""Reading a bulk-operation JSONL file: each line checked, classified and shaped into a row.

Lines come as Shopify's versions and queries write them: fields a query did not select are
absent (``legacyResourceId``, ``options``, ``inventoryItem``, ``position``, ...), older versions
use ``bodyHtml``, comma-separated ``tags``, ``priceV2`` and ``images`` nodes with ``src`` or
``originalSrc``, newer ones ``media`` nodes with ``image`` or ``preview.image``.
"""

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from .. import ids
from ..generator import EPOCH
from ..models import Collection, Product, ProductImage, Shop, Variant

# Media types that are not pictures; the sandbox keeps images only.
NOT_IMAGES = ("Video", "ExternalVideo", "Model3d")


class JsonlError(ValueError):
    """A line of the file cannot be loaded; the message names the line."""


def read_lines(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; JsonlError on the first malformed one."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise JsonlError(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(obj, dict):
                raise JsonlError(f"line {number}: expected a JSON object, found {type(obj).__name__}")
            parent = obj.get("__parentId")
            if parent is not None and not isinstance(parent, str):
                raise JsonlError(f"line {number}: __parentId must be a string, found {parent!r}")
            yield number, obj


def type_and_number(value: Any) -> tuple[str, int | None]:
    """``gid://shopify/ProductVariant/12`` -> ("ProductVariant", 12); ("", None) for anything else."""
    parsed = ids.parse_gid(value) if value else None
    return parsed if parsed else ("", None)


def number_of(obj: dict[str, Any]) -> int | None:
    """A node's numeric id: ``legacyResourceId`` when selected, else the number in its gid."""
    legacy = obj.get("legacyResourceId")
    if legacy is not None and str(legacy).isdigit():
        return int(legacy)
    return type_and_number(obj.get("id"))[1]


def child_kind(obj: dict[str, Any], parent: str) -> str:
    """What a child line is: image, variant, collection (a product's), member (a collection's)
    or, for lines the sandbox does not model, ``skip:<type>``."""
    parent_type, _ = type_and_number(parent)
    kind, _ = type_and_number(obj.get("id"))
    if parent_type == "Product":
        if kind == "ProductVariant":
            return "variant"
        if kind == "Collection":
            return "collection"
        media_type = str(obj.get("mediaContentType") or "").upper()
        if kind in NOT_IMAGES or media_type not in ("", "IMAGE"):
            return f"skip:{kind or media_type.title()}"
        if kind in ("MediaImage", "ProductImage", "Image") or (not kind and image_of(obj)):
            return "image"
    elif parent_type == "Collection" and kind == "Product":
        return "member"
    return f"skip:{kind or 'unknown'}"


def image_of(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """{url, alt, width, height} of a media/image node in any version's shape; None without a URL."""
    if not isinstance(obj, dict):
        return None
    for candidate in (obj.get("image"), (obj.get("preview") or {}).get("image"), obj):
        if not isinstance(candidate, dict):
            continue
        url = candidate.get("url") or candidate.get("src") or candidate.get("originalSrc")
        if url:
            return {
                "url": str(url),
                "alt": candidate.get("altText") or candidate.get("alt") or obj.get("alt"),
                "width": candidate.get("width"),
                "height": candidate.get("height"),
            }
    return None


def featured_image(obj: dict[str, Any]) -> dict[str, Any] | None:
    """A product line's picture: ``featuredMedia`` (current versions) or ``featuredImage``."""
    return image_of(obj.get("featuredMedia")) or image_of(obj.get("featuredImage"))


def _time(value: Any, default: dt.datetime | None) -> dt.datetime | None:
    parsed = parse_datetime(str(value)) if value else None
    return parsed if parsed is not None else default


def _money(obj: dict[str, Any], *keys: str) -> Decimal | None:
    """The first of `keys` holding an amount: a string (``price``) or MoneyV2 (``priceV2``)."""
    for key in keys:
        value = obj.get(key)
        if isinstance(value, dict):
            value = value.get("amount")
        if value is None or value == "":
            continue
        try:
            return Decimal(str(value)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            continue
    return None


def product_row(shop: Shop, obj: dict[str, Any]) -> Product:
    legacy = number_of(obj)
    title = obj.get("title") or f"Product {legacy}"
    created = _time(obj.get("createdAt"), EPOCH)
    status = str(obj.get("status") or "ACTIVE").upper()
    if "publishedAt" in obj:
        published = _time(obj.get("publishedAt"), None)
    elif "onlineStoreUrl" in obj:
        published = created if obj.get("onlineStoreUrl") else None
    else:
        published = created if status == "ACTIVE" else None
    tags = obj.get("tags") or []
    if isinstance(tags, str):  # older versions and REST: one comma-separated string
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    options = []
    for position, option in enumerate(obj.get("options") or [], start=1):
        _, option_id = type_and_number(option.get("id"))
        values = option.get("values") or [v.get("name") for v in option.get("optionValues") or []]
        options.append(
            {
                "id": option_id or legacy * 10 + position,
                "name": option.get("name") or f"Option{position}",
                "position": option.get("position") or position,
                "values": values,
            }
        )
    return Product(
        shop=shop,
        legacy_id=legacy,
        handle=obj.get("handle") or f"{slugify(title)[:200] or 'product'}-{legacy}",
        title=title,
        description_html=obj.get("descriptionHtml") or obj.get("bodyHtml") or "",
        vendor=obj.get("vendor") or "",
        product_type=obj.get("productType") or "",
        status=status if status in Product.Status.values else "ACTIVE",
        tags=tags,
        options=options,
        published_at=published,
        created_at=created,
        updated_at=_time(obj.get("updatedAt"), created),
    )


def collection_row(shop: Shop, obj: dict[str, Any]) -> Collection:
    legacy = number_of(obj)
    title = obj.get("title") or f"Collection {legacy}"
    updated = _time(obj.get("updatedAt"), EPOCH)
    rule_set = obj.get("ruleSet") or {}
    rules = [
        {"column": r.get("column"), "relation": r.get("relation"), "condition": r.get("condition")}
        for r in rule_set.get("rules") or []
    ]
    return Collection(
        shop=shop,
        legacy_id=legacy,
        handle=obj.get("handle") or f"{slugify(title)[:200] or 'collection'}-{legacy}",
        title=title,
        description_html=obj.get("descriptionHtml") or "",
        sort_order=str(obj.get("sortOrder") or "MANUAL").upper(),
        rules=rules or None,
        applied_disjunctively=bool(rule_set.get("appliedDisjunctively")),
        published_at=updated,
        created_at=updated,
        updated_at=updated,
    )


def variant_row(
    shop: Shop, obj: dict[str, Any], product: Product, image: ProductImage | None, values: list, position: int
) -> Variant:
    legacy = number_of(obj)
    item = obj.get("inventoryItem") or {}
    _, item_number = type_and_number(item.get("id"))
    created = _time(obj.get("createdAt"), product.created_at)
    policy = str(obj.get("inventoryPolicy") or "DENY").upper()
    values = values + [None, None, None]
    return Variant(
        shop=shop,
        product=product,
        legacy_id=legacy,
        title=obj.get("title") or " / ".join(v for v in values if v) or "Default Title",
        sku=obj.get("sku"),
        barcode=obj.get("barcode"),
        price=_money(obj, "price", "priceV2") or Decimal("0.00"),
        compare_at_price=_money(obj, "compareAtPrice", "compareAtPriceV2"),
        position=obj.get("position") or position,
        inventory_policy=policy if policy in Variant.InventoryPolicy.values else "DENY",
        option1=values[0],
        option2=values[1],
        option3=values[2],
        image=image,
        taxable=bool(obj.get("taxable", True)),
        inventory_item_legacy_id=item_number or legacy - ids.PREFIXES["ProductVariant"] + ids.PREFIXES["InventoryItem"],
        tracked=bool(item.get("tracked", True)),
        inventory_quantity=int(obj.get("inventoryQuantity") or 0),
        created_at=created,
        updated_at=_time(obj.get("updatedAt"), created),
    )
