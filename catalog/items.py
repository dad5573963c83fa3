"""Shopify variant -> Meta item fields, the payload hash, and local validation.

The mapping follows ``shared/reference/shopify.md`` §8 (normative for this project).
Field names are items_batch names. The payload of a variant is computed
deterministically, so its hash tells whether Meta already has this exact version.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import orjson
from django.db import models, transaction
from django.utils import timezone

from .models import Product, ShopifyStore, Variant

TITLE_MAX = 150  # cut like WooCommerce does; Meta's own limits vary by spec (see reference §4)
DESCRIPTION_MAX = 5000
LABEL_MAX = 100
# Currencies without minor units (ISO 4217 exponent 0).
ZERO_DECIMAL_CURRENCIES = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
                                     "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"})
# Fields Meta treats as volatile: carried by update feeds / the Batch API between snapshots.
VOLATILE_FIELDS = ("availability", "price", "sale_price", "quantity_to_sell_on_facebook")
# The batch that refresh writes back; bounded so memory stays flat on a million variants.
REFRESH_BATCH = 2000

_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Problem:
    """A reason Meta would reject the item, found locally without a round trip."""

    code: str  # Meta's error type where one exists
    message: str
    fix: str


def clean_title(title: str) -> str:
    return _SPACE.sub(" ", title or "").strip()[:TITLE_MAX].rstrip()


def plain_description(description_html: str, fallback: str) -> str:
    text = _SCRIPT_STYLE.sub(" ", description_html or "")
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _SPACE.sub(" ", text).strip()[:DESCRIPTION_MAX].rstrip()
    return text or fallback


def format_price(amount: Decimal, currency: str) -> str:
    """Meta's ``"<amount> <ISO4217>"`` with the currency's own number of decimals."""
    exponent = Decimal("1") if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    return f"{Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)} {currency}"


def availability(variant: Variant) -> str:
    if not variant.inventory_tracked or variant.inventory_quantity > 0:
        return "in stock"
    if variant.inventory_policy == Variant.InventoryPolicy.CONTINUE:
        return "available for order"
    return "out of stock"


def is_excluded(product: Product) -> bool:
    """Products that must not be live in Meta (hidden with ``staging`` if they already are)."""
    return (
        product.excluded_from_meta
        or product.removed_at is not None
        or product.status != Product.Status.ACTIVE
        or not product.published
    )


@dataclass(frozen=True)
class ProductFields:
    """The part of a Meta item that comes from the product and its store (same for all its variants).

    Computed once per product when many variants are built together (a push batch):
    cleaning the description's HTML and the store's URL cost more than the variant's own fields.
    """

    group_id: str
    title: str
    description: str
    link_prefix: str
    image_link: str
    brand: str
    excluded: bool
    currency: str
    # Fields after the variant's stock fields, and after its color/size (item key order is kept).
    middle: dict
    tail: dict


def product_fields(product: Product, store: ShopifyStore) -> ProductFields:
    title = clean_title(product.title)
    middle: dict = {}
    extra_images = [img["src"] for img in product.images[1:] if img.get("src")][:20]
    if extra_images:
        middle["additional_image_link"] = extra_images
    if product.product_type:
        middle["product_type"] = product.product_type[:750]
    tail: dict = {}
    for field in ("fb_product_category", "google_product_category", "gender", "age_group"):
        if value := getattr(product, field):
            tail[field] = value
    for n in range(5):
        if value := getattr(product, f"custom_label_{n}"):
            tail[f"custom_label_{n}"] = value[:LABEL_MAX]
    if product.tags:
        tail["internal_label"] = [str(tag)[:110] for tag in product.tags][:5000]
    return ProductFields(
        group_id=str(product.shopify_product_id),
        title=title,
        description=plain_description(product.description_html, title),
        link_prefix=f"{store.storefront_url}/products/{product.handle}?variant=",
        image_link=product.featured_image_url,
        brand=(product.vendor or "").strip()[:LABEL_MAX] or store.name or store.shop_domain,
        excluded=is_excluded(product),
        currency=store.currency,
        middle=middle,
        tail=tail,
    )


def meta_item(
    variant: Variant, product: Product, store: ShopifyStore, fields: ProductFields | None = None
) -> dict:
    """The items_batch ``data`` object for one variant (``id`` is the retailer id).

    ``fields``: the product's part, when the caller computed it once for many variants.
    The variant may be any object with the variant's attributes (a push reads plain rows).
    """
    if fields is None:
        fields = product_fields(product, store)
    item: dict = {
        "id": variant.retailer_id,
        "item_group_id": fields.group_id,
        "title": fields.title,
        "description": fields.description,
        "availability": availability(variant),
        "condition": "new",
        "link": f"{fields.link_prefix}{variant.shopify_variant_id}",
        "image_link": variant.image_url or fields.image_link,
        "brand": fields.brand,
        "visibility": "staging" if fields.excluded or variant.removed_at else "published",
    }
    currency = fields.currency
    if variant.compare_at_price is not None and variant.compare_at_price > variant.price:
        item["price"] = format_price(variant.compare_at_price, currency)
        item["sale_price"] = format_price(variant.price, currency)
    else:
        item["price"] = format_price(variant.price, currency)
    if variant.inventory_tracked:
        item["quantity_to_sell_on_facebook"] = max(variant.inventory_quantity, 0)
    item.update(fields.middle)
    for option, value in (variant.options or {}).items():
        key = option.strip().lower()
        if key in ("color", "colour") and value:
            item["color"] = str(value)[:LABEL_MAX]
        elif key == "size" and value:
            item["size"] = str(value)[:LABEL_MAX]
    item.update(fields.tail)
    if variant.previous_id:
        # Variants scenario 3: the item replaces an earlier variant-less item; Meta keeps its history.
        item["previous_id"] = variant.previous_id
    return item


def canonical_bytes(item: dict) -> bytes:
    """The item as the canonical JSON its hash is taken of (sorted keys, no spaces), in UTF-8.

    It is valid JSON for the item, so a push sends these very bytes instead of encoding
    the item a second time. The canonical form is ``json.dumps(item, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)``, which every stored hash was taken of;
    orjson writes the same bytes for what items hold (strings, integers, booleans, null,
    lists, objects: a property test keeps it so) about five times faster, and what it
    refuses (an integer beyond 64 bits, a lone surrogate) goes through json as before.
    Items hold no floats (prices are strings), where the two would differ.
    """
    try:
        return orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_json(item: dict) -> str:
    """:func:`canonical_bytes` as text."""
    return canonical_bytes(item).decode("utf-8")


def hash_of_canonical(canonical: str | bytes) -> str:
    """The payload hash of a :func:`canonical_json` text (or of its UTF-8 bytes)."""
    return hashlib.sha256(canonical.encode("utf-8") if isinstance(canonical, str) else canonical).hexdigest()


def payload_hash(item: dict) -> str:
    """Stable hash of an item payload (key order and whitespace do not matter)."""
    return hash_of_canonical(canonical_bytes(item))


def local_problems(item: dict) -> list[Problem]:
    """Rejections we can predict without asking Meta (reference §8, "Rejected locally")."""
    problems = []
    if not item.get("title"):
        problems.append(Problem("EMPTY_TITLE", "The product has no title.", "Give the product a title in Shopify."))
    price = Decimal(item["price"].split(" ", 1)[0])
    if price <= 0:
        problems.append(
            Problem(
                "ITEM_PRICE_NOT_POSITIVE",
                f"The price is {item['price']}; Meta only accepts positive prices.",
                "Set a price above zero on the variant in Shopify.",
            )
        )
    if not item.get("image_link"):
        problems.append(
            Problem("EMPTY_IMAGE_URL", "The product has no image.", "Add at least one image to the product in Shopify.")
        )
    return problems


def refresh_variant(
    variant: Variant, product: Product, store: ShopifyStore, fields: ProductFields | None = None
) -> bool:
    """Recompute the payload hash and status of one variant in memory; True if anything changed.

    Unchanged data changes nothing (a re-import marks nothing PENDING). A changed
    payload becomes PENDING, or FAILED at once when it cannot pass Meta's rules, or
    SYNCED again when it went back to exactly what Meta already has. ``fields``: the
    product's part of the item, when the caller computed it once for its variants.
    """
    item = meta_item(variant, product, store, fields)
    new_hash = payload_hash(item)
    if new_hash == variant.payload_hash:
        return False
    variant.payload_hash = new_hash
    problems = local_problems(item)
    if problems:
        variant.meta_status = Variant.SyncStatus.FAILED
        variant.last_error = " ".join(f"{p.message} Fix: {p.fix}" for p in problems)
        variant.last_error_code = ",".join(p.code for p in problems)
    elif new_hash == variant.synced_hash and variant.in_flight_batch_id is None:
        variant.meta_status = Variant.SyncStatus.SYNCED
        variant.last_error = variant.last_error_code = ""
    else:
        variant.meta_status = Variant.SyncStatus.PENDING
        variant.last_error = variant.last_error_code = ""
    variant.updated_at = timezone.now()
    return True


REFRESH_FIELDS = ["payload_hash", "meta_status", "last_error", "last_error_code", "updated_at"]
# Rows per UPDATE when writing refreshed variants (SQLite caps the parameters of one query).
WRITE_BATCH = 500


def refresh_in_memory(variants: Iterable[Variant], store: ShopifyStore | None = None) -> list[Variant]:
    """:func:`refresh_variant` for many variants (their ``product`` set); return the changed ones.

    The product's part of the item (its description's HTML cleaned, ...) is computed once
    per product, not once per variant. ``store``: every variant's, when the caller has it
    (else each product's own ``store``).
    """
    fields: dict[int, ProductFields] = {}
    changed = []
    for variant in variants:
        product = variant.product
        product_store = store or product.store
        if product.pk not in fields:
            fields[product.pk] = product_fields(product, product_store)
        if refresh_variant(variant, product, product_store, fields[product.pk]):
            changed.append(variant)
    return changed


def refresh_variants(variants: models.QuerySet[Variant] | Iterable[Variant]) -> int:
    """Refresh many variants in bounded batches; return how many changed."""
    if isinstance(variants, models.QuerySet):
        # Joins product and store, without decrypting the store's secrets (not in any payload).
        variants = variants.with_item_relations().iterator(chunk_size=REFRESH_BATCH)
    changed = 0
    for batch in _chunks(variants, REFRESH_BATCH):
        dirty = refresh_in_memory(batch)
        if dirty:
            _write_refreshed(dirty)
            changed += len(dirty)
    return changed


def _write_refreshed(dirty: list[Variant]) -> None:
    """Write the ``REFRESH_FIELDS`` of ``dirty`` variants.

    Only the hash differs per row, so only it goes through ``bulk_update`` (whose
    CASE expressions cost Python time per row and field); status and errors are shared
    by many rows and go as one plain UPDATE per distinct value. About five times faster
    than a five-field ``bulk_update``.
    """
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for variant in dirty:
        groups[(variant.meta_status, variant.last_error, variant.last_error_code)].append(variant.pk)
    now = timezone.now()
    with transaction.atomic():
        Variant.objects.bulk_update(dirty, ["payload_hash"], batch_size=WRITE_BATCH)
        for (status, error, code), pks in groups.items():
            for start in range(0, len(pks), WRITE_BATCH):
                Variant.objects.filter(pk__in=pks[start : start + WRITE_BATCH]).update(
                    meta_status=status, last_error=error, last_error_code=code, updated_at=now
                )


def _chunks(iterable: Iterable[Variant], size: int) -> Iterator[list[Variant]]:
    chunk: list[Variant] = []
    for obj in iterable:
        chunk.append(obj)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
