"""Fill a sandbox shop in bulk: from generated products or from a bulk-operation JSONL file.

Both sources are streamed and inserted in batches (`bulk_create`), so a shop of any size loads
in bounded memory. Product dicts have the shape `generator.generate_products()` yields.
"""

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from . import ids
from .collections import refresh_smart_memberships
from .generator import EPOCH
from .models import InventoryLevel, Location, Product, ProductImage, Shop, Variant

# Products per insert round trip; variants and images follow their products in the same round.
LOAD_BATCH_PRODUCTS = 500


def default_location(shop: Shop) -> Location:
    """The shop's first location, created on first use."""
    location = shop.locations.order_by("legacy_id").first()
    if location is None:
        location = Location.objects.create(shop=shop, legacy_id=shop.new_legacy_id("Location"), name="Main warehouse")
    return location


def load_products(shop: Shop, products: Iterable[dict[str, Any]], *, batch_size: int = LOAD_BATCH_PRODUCTS) -> dict:
    """Insert product dicts (with variants and images) into `shop`; return counts."""
    location = default_location(shop)
    counts = {"products": 0, "variants": 0, "images": 0}
    max_serial = shop.next_serial - 1
    batch: list[dict[str, Any]] = []
    for product in products:
        batch.append(product)
        if len(batch) >= batch_size:
            _insert_batch(shop, location, batch, counts)
            batch = []
        max_serial = max(max_serial, product.get("next_serial", 0) - 1)
    if batch:
        _insert_batch(shop, location, batch, counts)
    max_serial = max(max_serial, _max_serial_in_block(shop))
    Shop.objects.filter(pk=shop.pk, next_serial__lte=max_serial).update(next_serial=max_serial + 1)
    shop.refresh_from_db(fields=["next_serial"])
    refresh_smart_memberships(shop)
    return counts


def _max_serial_in_block(shop: Shop) -> int:
    """Highest serial used by loaded ids that fall in this shop's own block (JSONL files may)."""
    best = 0
    for model, type_name in ((Product, "Product"), (Variant, "ProductVariant")):
        top = model.objects.filter(shop=shop).order_by("-legacy_id").values_list("legacy_id", flat=True).first()
        if top is not None:
            serial = top - ids.PREFIXES[type_name] - shop.id_base
            if 0 <= serial < ids.SHOP_ID_BLOCK:
                best = max(best, serial)
    return best


@transaction.atomic
def _insert_batch(shop: Shop, location: Location, batch: list[dict[str, Any]], counts: dict) -> None:
    product_rows = [
        Product(
            shop=shop,
            legacy_id=p["legacy_id"],
            handle=p["handle"],
            title=p["title"],
            description_html=p["description_html"],
            vendor=p["vendor"],
            product_type=p["product_type"],
            status=p["status"],
            tags=p["tags"],
            options=[
                {"id": o["legacy_id"], "name": o["name"], "position": o["position"], "values": o["values"]}
                for o in p["options"]
            ],
            published_at=p["published_at"],
            created_at=p["created_at"],
            updated_at=p["updated_at"],
        )
        for p in batch
    ]
    Product.objects.bulk_create(product_rows, batch_size=500)
    image_rows: list[ProductImage] = []
    images_of: list[list[ProductImage]] = []
    for p, row in zip(batch, product_rows, strict=True):
        mine = [
            ProductImage(
                shop=shop,
                product=row,
                legacy_id=i["legacy_id"],
                media_legacy_id=i["media_legacy_id"],
                position=i["position"],
                url=i["url"],
                alt_text=i["alt_text"],
                width=i.get("width"),
                height=i.get("height"),
                created_at=p["created_at"],
                updated_at=p["updated_at"],
            )
            for i in p["images"]
        ]
        images_of.append(mine)
        image_rows.extend(mine)
    ProductImage.objects.bulk_create(image_rows, batch_size=500)
    variant_rows: list[Variant] = []
    for p, row, mine in zip(batch, product_rows, images_of, strict=True):
        for v in p["variants"]:
            values = list(v["option_values"]) + [None, None, None]
            variant_rows.append(
                Variant(
                    shop=shop,
                    product=row,
                    legacy_id=v["legacy_id"],
                    title=v["title"],
                    sku=v["sku"],
                    barcode=v["barcode"],
                    price=v["price"],
                    compare_at_price=v["compare_at_price"],
                    position=v["position"],
                    inventory_policy=v["inventory_policy"],
                    option1=values[0],
                    option2=values[1],
                    option3=values[2],
                    image=mine[v["image_index"]] if v["image_index"] is not None else None,
                    taxable=v["taxable"],
                    inventory_item_legacy_id=v["inventory_item_legacy_id"],
                    tracked=v["tracked"],
                    inventory_quantity=v["inventory_quantity"],
                    created_at=v["created_at"],
                    updated_at=v["updated_at"],
                )
            )
    Variant.objects.bulk_create(variant_rows, batch_size=500)
    InventoryLevel.objects.bulk_create(
        [
            InventoryLevel(
                shop=shop, variant=v, location=location, available=v.inventory_quantity, updated_at=v.updated_at
            )
            for v in variant_rows
        ],
        batch_size=500,
    )
    counts["products"] += len(product_rows)
    counts["variants"] += len(variant_rows)
    counts["images"] += len(image_rows)


# ---------------------------------------------------------------------------------------------
# Bulk-operation JSONL -> product dicts


def _parse_time(value: Any, default: dt.datetime | None) -> dt.datetime | None:
    if not value:
        return default
    parsed = parse_datetime(str(value))
    return parsed if parsed is not None else default


def _money(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict):  # MoneyV2 {amount currencyCode}
        value = value.get("amount")
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _number(obj: dict[str, Any], type_name: str) -> int | None:
    legacy = obj.get("legacyResourceId")
    if legacy is not None and str(legacy).isdigit():
        return int(legacy)
    parsed = ids.parse_gid(obj.get("id", ""))
    return parsed[1] if parsed and parsed[0] == type_name else None


def _product_from_line(obj: dict[str, Any]) -> dict[str, Any]:
    legacy = _number(obj, "Product")
    title = obj.get("title") or f"Product {legacy}"
    created = _parse_time(obj.get("createdAt"), EPOCH)
    updated = _parse_time(obj.get("updatedAt"), created)
    status = str(obj.get("status") or "ACTIVE").upper()
    if "publishedAt" in obj:
        published = _parse_time(obj.get("publishedAt"), None)
    elif "onlineStoreUrl" in obj:
        published = created if obj.get("onlineStoreUrl") else None
    else:
        published = created if status == "ACTIVE" else None
    tags = obj.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    options = []
    for position, option in enumerate(obj.get("options") or [], start=1):
        option_id = ids.parse_gid(option.get("id", "")) if option.get("id") else None
        values = option.get("values") or [v.get("name") for v in option.get("optionValues") or []]
        options.append(
            {
                "legacy_id": option_id[1] if option_id else legacy * 10 + position,
                "name": option.get("name") or f"Option{position}",
                "position": option.get("position") or position,
                "values": values,
            }
        )
    product = {
        "legacy_id": legacy,
        "handle": obj.get("handle") or f"{slugify(title)[:200] or 'product'}-{legacy}",
        "title": title,
        "description_html": obj.get("descriptionHtml") or obj.get("bodyHtml") or "",
        "vendor": obj.get("vendor") or "",
        "product_type": obj.get("productType") or "",
        "status": status if status in Product.Status.values else "ACTIVE",
        "tags": tags,
        "options": options,
        "published_at": published,
        "created_at": created,
        "updated_at": updated,
        "images": [],
        "variants": [],
    }
    featured = ((obj.get("featuredMedia") or {}).get("preview") or {}).get("image") or obj.get("featuredImage")
    if featured and featured.get("url"):
        _add_image(product, featured.get("url"), featured.get("altText"), None)
    return product


def _add_image(product: dict[str, Any], url: str, alt: str | None, number: int | None, **size: Any) -> int:
    """Index of the product image with this URL, adding it when new."""
    for index, image in enumerate(product["images"]):
        if image["url"] == url:
            return index
    number = number or product["legacy_id"] * 100 + len(product["images"]) + 1
    product["images"].append(
        {
            "legacy_id": number,
            "media_legacy_id": number,
            "position": len(product["images"]) + 1,
            "url": url,
            "alt_text": alt,
            "width": size.get("width"),
            "height": size.get("height"),
        }
    )
    return len(product["images"]) - 1


def _attach_child(product: dict[str, Any], obj: dict[str, Any]) -> None:
    parsed = ids.parse_gid(obj.get("id", ""))
    kind = parsed[0] if parsed else ""
    if kind == "ProductVariant":
        _attach_variant(product, obj, parsed[1])
    elif kind in ("MediaImage", "ProductImage") or "image" in obj or "url" in obj or "src" in obj:
        image = obj.get("image") or obj
        url = image.get("url") or image.get("src") or image.get("originalSrc")
        if url:
            _add_image(
                product,
                url,
                image.get("altText"),
                parsed[1] if parsed else None,
                width=image.get("width"),
                height=image.get("height"),
            )


def _attach_variant(product: dict[str, Any], obj: dict[str, Any], number: int) -> None:
    legacy = _number(obj, "ProductVariant") or number
    names = [o["name"] for o in product["options"]]
    by_name = {o.get("name"): o.get("value") for o in obj.get("selectedOptions") or []}
    values = [by_name.get(name) for name in names] if names else []
    if not names and obj.get("title"):
        values = [obj["title"]]
    image = obj.get("image") or {}
    image_index = _add_image(product, image["url"], image.get("altText"), None) if image.get("url") else None
    item = obj.get("inventoryItem") or {}
    item_gid = ids.parse_gid(item.get("id", "")) if item.get("id") else None
    item_number = item_gid[1] if item_gid else legacy - ids.PREFIXES["ProductVariant"] + ids.PREFIXES["InventoryItem"]
    created = _parse_time(obj.get("createdAt"), product["created_at"])
    policy = str(obj.get("inventoryPolicy") or "DENY").upper()
    product["variants"].append(
        {
            "legacy_id": legacy,
            "inventory_item_legacy_id": item_number,
            "title": obj.get("title") or " / ".join(v for v in values if v) or "Default Title",
            "option_values": values,
            "sku": obj.get("sku"),
            "barcode": obj.get("barcode"),
            "price": _money(obj.get("price")) or Decimal("0.00"),
            "compare_at_price": _money(obj.get("compareAtPrice")),
            "position": obj.get("position") or len(product["variants"]) + 1,
            "inventory_policy": policy if policy in Variant.InventoryPolicy.values else "DENY",
            "tracked": bool(item.get("tracked", True)),
            "inventory_quantity": int(obj.get("inventoryQuantity") or 0),
            "taxable": bool(obj.get("taxable", True)),
            "image_index": image_index,
            "created_at": created,
            "updated_at": _parse_time(obj.get("updatedAt"), created),
        }
    )


def iter_jsonl_products(path: str) -> Iterator[dict[str, Any]]:
    """Stream product dicts out of a bulk-operation JSONL file (children joined by ``__parentId``).

    Children usually follow their parent and are joined on the fly; a child seen before its
    parent is held until the parent's line comes. A child whose parent was already yielded
    (children far from their parent) cannot be joined in one pass and is skipped.
    """
    current: dict[str, Any] | None = None
    current_gid = ""
    held: dict[str, list[dict[str, Any]]] = {}
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            raw = raw.strip()
            if not raw:
                continue
            obj = json.loads(raw)
            parent = obj.get("__parentId")
            if parent is None:
                parsed = ids.parse_gid(obj.get("id", ""))
                if not parsed or parsed[0] != "Product":
                    continue
                if current is not None:
                    yield current
                current = _product_from_line(obj)
                current_gid = obj["id"]
                for child in held.pop(current_gid, []):
                    _attach_child(current, child)
            elif current is not None and parent == current_gid:
                _attach_child(current, obj)
            else:
                # A child before its parent (allowed when ungrouped): keep it until the parent comes.
                held.setdefault(parent, []).append(obj)
    if current is not None:
        yield current
