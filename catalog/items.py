"""Shopify variant -> Meta item fields, the payload hash, and local validation.

The mapping follows ``docs/shopify-api.md`` §8 (field by field: ``docs/field-mapping.md``) (normative for this project).
Field names are items_batch names. The payload of a variant is computed
deterministically, so its hash tells whether Meta already has this exact version.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from urllib.parse import urlsplit

import orjson

from . import google_taxonomy, rich_text
from .models import Product, ShopifyStore, Variant

TITLE_MAX = 150  # cut like WooCommerce does; Meta's own limits vary by spec (see docs/graph-api.md §4)
DESCRIPTION_MAX = 5000
LABEL_MAX = 100
# Currencies without minor units (ISO 4217 exponent 0).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
# Fields Meta treats as volatile: carried by update feeds / the Batch API between snapshots.
VOLATILE_FIELDS = ("availability", "price", "sale_price", "quantity_to_sell_on_facebook")
# Optional fields the mapping (:func:`meta_item`) writes only when they have a value. An
# UPDATE changes only the fields it names, so the Batch API sends each absent one empty,
# which clears it in Meta (catalog.sync.push); an update-only feed row cannot: its empty
# cell means "no change". The order is the bit order of :func:`clearable_mask` (stored in
# ``Variant.payload_mask``, ``in_flight_mask``, ``held_mask``): append only, never reorder.
CLEARABLE_FIELDS = (
    "sale_price",
    "quantity_to_sell_on_facebook",
    "additional_image_link",
    "product_type",
    "color",
    "size",
    "gender",
    "age_group",
    "fb_product_category",
    "google_product_category",
    "rich_text_description",
    "video",
    "material",
    "pattern",
    "additional_variant_attribute",
    "sale_price_effective_date",
    *(f"custom_label_{n}" for n in range(5)),
    "internal_label",
    "previous_id",
)
_CLEARABLE_BITS = tuple((name, 1 << n) for n, name in enumerate(CLEARABLE_FIELDS))
# Every clearable field: what Meta may hold of an item whose fields we do not know.
ALL_CLEARABLE = (1 << len(CLEARABLE_FIELDS)) - 1


def clearable_mask(item: dict) -> int:
    """The clearable fields ``item`` carries, one bit each in :data:`CLEARABLE_FIELDS` order."""
    return sum(bit for name, bit in _CLEARABLE_BITS if name in item)


@cache
def cleared_fields_prefix(mask: int) -> bytes:
    """The start of an UPDATE's data that clears every clearable field ``mask`` lacks: ``{"a":"","b":"",``.

    Joined to an item's canonical JSON after its opening brace (``b"{"`` when none is cleared).
    There are at most 2 ** len(CLEARABLE_FIELDS) masks and a catalog uses a handful.
    """
    cleared = [name for name, bit in _CLEARABLE_BITS if not mask & bit]
    return b"{" + b"".join(b'"%s":"",' % name.encode() for name in cleared)


def clearable_bits(names) -> int:
    """The bits of the clearable fields named."""
    return sum(1 << CLEARABLE_FIELDS.index(name) for name in names)


# Meta's limits on the fields we send (docs/graph-api.md §4; items_batch names).
FIELD_MAX = {
    "id": 100,
    "title": 200,
    "description": 9999,
    "brand": 100,
    "item_group_id": 100,
    "color": 100,
    "size": 100,
    "product_type": 750,
    "google_product_category": 250,
    "fb_product_category": 250,
    "previous_id": 100,
    "rich_text_description": 9999,
    "material": 200,
    "pattern": 100,
    **{f"custom_label_{n}": 100 for n in range(5)},
}
AVAILABILITY = frozenset({"in stock", "out of stock", "available for order", "discontinued", "preorder"})
VISIBILITY = frozenset({"published", "staging"})
MAX_ADDITIONAL_IMAGES = 20
# Videos sent per item (the feed has a video[n].url column for each).
MAX_VIDEOS = 5
# additional_variant_attribute: "Name:Value,Name:Value"; Meta documents no limit, ours keeps it sane.
VARIANT_ATTRIBUTES_MAX = 500
# Variant option names (lower case) that are Meta fields of their own; every other option
# (except Shopify's placeholder "Title") becomes an additional variant attribute.
OPTION_FIELDS = {
    "color": "color",
    "colour": "color",
    "size": "size",
    "material": "material",
    "fabric": "material",
    "pattern": "pattern",
    "gender": "gender",
    "age group": "age_group",
    "age_group": "age_group",
    "age": "age_group",
}
# Meta's gender and age_group enums, from the words stores use (unknown words: no value).
GENDERS = {
    "female": "female",
    "women": "female",
    "womens": "female",
    "women's": "female",
    "woman": "female",
    "ladies": "female",
    "male": "male",
    "men": "male",
    "mens": "male",
    "men's": "male",
    "man": "male",
    "unisex": "unisex",
    "gender neutral": "unisex",
    "all genders": "unisex",
}
AGE_GROUPS = {
    "adult": "adult",
    "adults": "adult",
    "all ages": "all ages",
    "teen": "teen",
    "teens": "teen",
    "kids": "kids",
    "kid": "kids",
    "children": "kids",
    "child": "kids",
    "toddler": "toddler",
    "toddlers": "toddler",
    "infant": "infant",
    "infants": "infant",
    "baby": "infant",
    "newborn": "newborn",
}
# Sale dates outside these years are typing errors, not sales.
SALE_YEARS = range(2000, 2101)
# A feed line may not exceed 5 MB (Meta's feed spec); an item larger than that cannot travel in a feed.
MAX_LINE_BYTES = 5 * 1024 * 1024
# Above this Meta's price fields overflow (prices are stored as unsigned 32-bit minor units by the Graph API).
MAX_PRICE_MINOR_UNITS = 4_294_967_295

_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_WHITESPACE = re.compile(r"\s")
_ATTRIBUTE_UNSAFE = re.compile(r"[,:\s]+")


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
    # ``middle`` holds the product's material/pattern/gender/age group from metafields,
    # which the variant's own options replace; ``tail`` what staff set, which wins.
    middle: dict
    tail: dict
    # Meta's sale_price_effective_date from the store's sale-date metafields ("" when none);
    # sent only with a sale_price.
    sale_dates: str = ""


def normalised_gender(value: object) -> str:
    """Meta's gender for a store's word ("Women" -> "female"); "" when it is not one."""
    return GENDERS.get(str(value or "").strip().lower(), "")


def normalised_age_group(value: object) -> str:
    """Meta's age_group for a store's word ("Kids" -> "kids"); "" when it is not one."""
    return AGE_GROUPS.get(str(value or "").strip().lower(), "")


def _attribute_value(field: str, value: object) -> str:
    """An option or metafield value as the Meta field takes it ("" when it cannot)."""
    if field == "gender":
        return normalised_gender(value)
    if field == "age_group":
        return normalised_age_group(value)
    return _SPACE.sub(" ", str(value or "")).strip()[: FIELD_MAX.get(field, LABEL_MAX)]


def _moment(value: str, end: bool) -> datetime | None:
    """A metafield date (``2025-11-01``) or date-time (``2025-11-01T12:00:00Z``) as an aware datetime."""
    text = (value or "").strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time(23, 59) if end else time(0, 0), tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@lru_cache(maxsize=1024)
def sale_price_effective_date(start: str, end: str) -> str:
    """Meta's ``start/end`` (ISO 8601, minutes and offset) from the store's two dates; "" if unusable.

    Both ends are needed, in order and in plausible years: a half-open or reversed range
    is left out (the item keeps its sale price without dates) rather than failing it.
    """
    first, last = _moment(start, end=False), _moment(end, end=True)
    if first is None or last is None or first > last or first.year not in SALE_YEARS or last.year not in SALE_YEARS:
        return ""
    return f"{first:%Y-%m-%dT%H:%M%z}/{last:%Y-%m-%dT%H:%M%z}"


def _metafield_attributes(metafields: dict) -> dict:
    """material / pattern / gender / age_group from the product's metafields (custom first)."""
    found: dict = {}
    for field, keys in (
        ("material", ("custom.material",)),
        ("pattern", ("custom.pattern",)),
        ("gender", ("custom.gender", "mm-google-shopping.gender")),
        ("age_group", ("custom.age_group", "mm-google-shopping.age_group")),
    ):
        for key in keys:
            if value := _attribute_value(field, metafields.get(key)):
                found[field] = value
                break
    return found


def product_fields(product: Product, store: ShopifyStore) -> ProductFields:
    """The product's part of its items: computed once per product, shared by its variants."""
    title = clean_title(product.title)
    description = plain_description(product.description_html, title)
    metafields = product.metafields or {}
    middle: dict = {}
    if rich := rich_text.rich_text_description(product.description_html, description):
        middle["rich_text_description"] = rich
    extra_images = [img["src"] for img in product.images[1:] if img.get("src")][:MAX_ADDITIONAL_IMAGES]
    if extra_images:
        middle["additional_image_link"] = extra_images
    # Only addresses Meta can fetch: a bad video address drops the video, never the item.
    videos = [{"url": video["url"]} for video in product.videos or [] if _is_web_url(video.get("url"))]
    if videos:
        middle["video"] = videos[:MAX_VIDEOS]
    if product.product_type:
        middle["product_type"] = product.product_type[:750]
    middle.update(_metafield_attributes(metafields))
    tail: dict = {}
    if product.fb_product_category:
        tail["fb_product_category"] = product.fb_product_category
    # Staff's category wins; otherwise Shopify's category mapped to Google's (none: no field).
    if category := product.google_product_category or google_taxonomy.google_category(product.shopify_category):
        tail["google_product_category"] = category
    for field in ("gender", "age_group"):
        if value := getattr(product, field):
            tail[field] = value
    for n in range(5):
        if value := getattr(product, f"custom_label_{n}"):
            tail[f"custom_label_{n}"] = value[:LABEL_MAX]
    if product.tags:
        tail["internal_label"] = [str(tag)[:110] for tag in product.tags][:5000]
    return ProductFields(
        group_id=product.item_group_id,
        title=title,
        description=description,
        link_prefix=f"{store.storefront_url}/products/{product.handle}?variant=",
        image_link=product.featured_image_url,
        brand=(product.vendor or "").strip()[:LABEL_MAX] or store.name or store.shop_domain,
        excluded=is_excluded(product),
        currency=store.currency,
        middle=middle,
        tail=tail,
        sale_dates=sale_price_effective_date(
            metafields.get("custom.sale_start_date", ""), metafields.get("custom.sale_end_date", "")
        ),
    )


def meta_item(variant: Variant, product: Product, store: ShopifyStore, fields: ProductFields | None = None) -> dict:
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
        if fields.sale_dates:
            item["sale_price_effective_date"] = fields.sale_dates
    else:
        item["price"] = format_price(variant.price, currency)
    if variant.inventory_tracked:
        item["quantity_to_sell_on_facebook"] = max(variant.inventory_quantity, 0)
    item.update(fields.middle)
    if variant.options:
        _add_options(item, variant.options)
    item.update(fields.tail)
    if variant.previous_id:
        # Variants scenario 3: the item replaces an earlier variant-less item; Meta keeps its history.
        item["previous_id"] = variant.previous_id
    return item


def _add_options(item: dict, options: dict) -> None:
    """The variant's options: Meta's own fields where one exists, the rest as additional attributes."""
    extra: list[str] = []
    for option, value in options.items():
        if not value:
            continue
        name = str(option).strip()
        field = OPTION_FIELDS.get(name.lower())
        converted = _attribute_value(field, value) if field is not None else ""
        if converted:
            item[field] = converted
        elif name.lower() != "title":  # Shopify's placeholder option of a product without options
            # An option Meta has no field for, or an "Age" of "2-3 years" that is no age group:
            # it still tells the variants apart, so it travels as an additional attribute.
            # "Name:Value" pairs joined by commas: neither may hold a comma or a colon.
            pair = f"{_ATTRIBUTE_UNSAFE.sub(' ', name).strip()}:{_ATTRIBUTE_UNSAFE.sub(' ', str(value)).strip()}"
            if not pair.startswith(":") and not pair.endswith(":"):
                extra.append(pair)
    if extra:
        joined = ",".join(extra)
        while len(joined) > VARIANT_ATTRIBUTES_MAX and extra:
            extra.pop()
            joined = ",".join(extra)
        if joined:
            item["additional_variant_attribute"] = joined


def canonical_bytes(item: dict) -> bytes:
    """The item as the canonical JSON its hash is taken of (sorted keys, no spaces), in UTF-8.

    It is valid JSON for the item, so a push sends these very bytes instead of encoding
    the item a second time. The canonical form is ``json.dumps(item, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)``, which every stored hash was taken of;
    orjson writes the same bytes for what items hold (strings, integers, booleans, null,
    lists, objects: a property test keeps it so) faster (bench/README.md, "History"), and what it
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


def _money(value: object) -> tuple[Decimal, str] | None:
    """``"12.50 USD"`` -> (12.50, "USD"); None when it is not Meta's price format."""
    if not isinstance(value, str) or " " not in value:
        return None
    return _parse_money(value)


# Every item is checked before it is sent: a catalog has few distinct prices and images,
# and each product's address is shared by its variants, so the parses are remembered.
@lru_cache(maxsize=4096)
def _parse_money(value: str) -> tuple[Decimal, str] | None:
    amount, currency = value.split(" ", 1)
    try:
        number = Decimal(amount)
    except ArithmeticError:
        return None
    return (number, currency) if number.is_finite() and len(currency) == 3 else None


def _minor_units(amount: Decimal, currency: str) -> Decimal:
    return amount if currency in ZERO_DECIMAL_CURRENCIES else amount * 100


def _is_web_url(value: object) -> bool:
    """An absolute http(s) address without spaces.

    The part before the query is parsed once (remembered): a product's link differs per
    variant only by its query, and its images are checked again for every variant.
    """
    if not isinstance(value, str) or len(value) > 2000:
        return False
    address, mark, query = value.partition("?")
    return _is_web_address(address) and not (mark and _WHITESPACE.search(query))


# Large enough for one push batch's distinct addresses (5,000 variants' products, each with
# up to 21 images): at 4,096 the cache was evicted before a product's next variant came.
@lru_cache(maxsize=65536)
def _is_web_address(value: str) -> bool:
    if _WHITESPACE.search(value) is not None:
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    # No user:password part: Meta refuses addresses that carry credentials.
    return parts.scheme in ("http", "https") and bool(host) and parts.username is None


def local_problems(item: dict, canonical: bytes | None = None) -> list[Problem]:
    """Every rejection we can predict without asking Meta (docs/graph-api.md §4 and §10; docs/shopify-api.md §8).

    Runs on every path that can send an item (refresh, reconciliation, Batch API, feeds):
    an item with a problem is never sent as a live item. Money (price and sale price
    positive, in Meta's format and one currency, sale below price), title, description,
    brand, link, images, availability, visibility, field lengths, and the 5 MB feed line.
    ``canonical``: the item's :func:`canonical_bytes`, when the caller has them already.
    """
    problems: list[Problem] = []

    def add(code: str, message: str, fix: str) -> None:
        problems.append(Problem(code, message, fix))

    if not str(item.get("title") or "").strip():
        add("EMPTY_TITLE", "The product has no title.", "Give the product a title in Shopify.")
    if not str(item.get("description") or "").strip():
        add("EMPTY_DESCRIPTION", "The product has no description.", "Write a description for the product in Shopify.")
    if not str(item.get("brand") or "").strip():
        add("EMPTY_BRAND", "The product has no brand.", "Set the product's vendor in Shopify.")
    price = _money(item.get("price"))
    if price is None:
        add(
            "EMPTY_PRICE",
            f"The price {item.get('price')!r} is not a price Meta can read.",
            "Set a price on the variant in Shopify.",
        )
    elif price[0] <= 0:
        add(
            "ITEM_PRICE_NOT_POSITIVE",
            f"The price is {item['price']}; Meta only accepts positive prices.",
            "Set a price above zero on the variant in Shopify.",
        )
    elif _minor_units(*price) > MAX_PRICE_MINOR_UNITS:
        add(
            "PROPERTY_VALUE_FORMAT",
            f"The price {item['price']} is larger than Meta accepts.",
            "Check the variant's price in Shopify.",
        )
    if "sale_price" in item:
        sale = _money(item.get("sale_price"))
        if sale is None or sale[0] <= 0:
            add(
                "INVALID_SALE_PRICE",
                f"The sale price is {item.get('sale_price')}; Meta only accepts positive sale prices.",
                "Set a price above zero on the variant in Shopify (the compare-at price is shown as the "
                "regular price).",
            )
        elif price is not None and (sale[1] != price[1] or sale[0] >= price[0]):
            add(
                "INVALID_SALE_PRICE",
                f"The sale price {item['sale_price']} must be lower than the price {item['price']}, "
                "in the same currency.",
                "Make the variant's price lower than its compare-at price in Shopify.",
            )
    if not _is_web_url(item.get("link")):
        add(
            "EMPTY_PRODUCT_URL",
            "The product has no web address Meta can open.",
            "Check the store's primary domain and the product's handle in Shopify.",
        )
    if not item.get("image_link"):
        add("EMPTY_IMAGE_URL", "The product has no image.", "Add at least one image to the product in Shopify.")
    elif not _is_web_url(item.get("image_link")):
        add(
            "INVALID_IMAGES",
            "The product's image address is not an http(s) address Meta can fetch.",
            "Replace the product's first image in Shopify.",
        )
    extra = item.get("additional_image_link") or []
    if not isinstance(extra, list) or len(extra) > MAX_ADDITIONAL_IMAGES or not all(map(_is_web_url, extra)):
        add(
            "INVALID_IMAGES",
            "One of the product's additional images has an address Meta cannot fetch.",
            "Replace the product's images in Shopify.",
        )
    if item.get("availability") not in AVAILABILITY:
        add(
            "EMPTY_AVAILABILITY",
            f"The availability {item.get('availability')!r} is not one Meta knows.",
            "Check the variant's inventory settings in Shopify.",
        )
    if item.get("visibility", "published") not in VISIBILITY:
        add(
            "PROPERTY_VALUE_FORMAT",
            f"The visibility {item.get('visibility')!r} is not one Meta knows.",
            "Contact Galantis support.",
        )
    for field, limit in FIELD_MAX.items():
        value = item.get(field)
        if isinstance(value, str) and len(value) > limit:
            add(
                "PROPERTY_VALUE_STRING_EXCEEDS_LENGTH",
                f"The {field.replace('_', ' ')} is {len(value)} characters long; Meta accepts at most {limit}.",
                "Shorten it in Shopify (or on the Galantis product page for Meta-only fields).",
            )
    quantity = item.get("quantity_to_sell_on_facebook")
    if quantity is not None and (
        not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0 or quantity > MAX_PRICE_MINOR_UNITS
    ):
        add(
            "PROPERTY_VALUE_FORMAT",
            f"The quantity {quantity!r} is not a count Meta accepts.",
            "Check the variant's inventory in Shopify.",
        )
    # The canonical JSON is never shorter than the item's CSV feed line (each value is
    # quoted and escaped at least as much, and names its field), so an item under the
    # limit here always fits a feed line; one over it is refused on every path, since
    # the replace feed could not list it and would delete it from Meta.
    if problems:
        return problems
    size = len(canonical if canonical is not None else canonical_bytes(item))
    if size > MAX_LINE_BYTES:
        add(
            "PROPERTY_VALUE_STRING_EXCEEDS_LENGTH",
            f"The item is {size / 1048576:.1f} MB; a line of Meta's product feed may hold at most "
            f"{MAX_LINE_BYTES / 1048576:.0f} MB, so it is not uploaded.",
            "Shorten the product's description, tags or variant options in Shopify.",
        )
    return problems
