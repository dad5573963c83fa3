"""How Meta validates a ``PRODUCT_ITEM`` (items_batch field names, docs/graph-api.md §4).

``check_request`` runs when the call is answered (request shape, unknown fields);
``check_fields`` and ``check_required`` run when the batch is processed, on the
fields sent and on the item as it will be stored. Messages follow Meta's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from .currencies import ISO_4217, ZERO_DECIMAL

MAX_REQUESTS = 5000  # items_batch limit per call
METHODS = ("CREATE", "UPDATE", "DELETE")

AVAILABILITY = (
    "in stock",
    "out of stock",
    "preorder",
    "available for order",
    "discontinued",
    "pending",
    "mark_as_sold",
    "mark_as_expired",
)
CONDITION = ("new", "refurbished", "used", "cpo", "open_box_new", "used_fair", "used_good", "used_like_new")
GENDER = ("female", "male", "unisex")
AGE_GROUP = ("adult", "all ages", "infant", "kids", "newborn", "teen", "toddler")
# "hidden" is what WooCommerce sends; Meta stores it as staging.
VISIBILITY = ("published", "staging", "hidden")
WEIGHT_UNITS = ("g", "kg", "lb", "oz")

MAX_LENGTH = {
    "id": 100,
    "title": 200,
    "description": 9999,
    "rich_text_description": 9999,
    "brand": 100,
    "item_group_id": 100,
    "color": 100,
    "size": 100,
    "pattern": 100,
    "material": 200,
    "gtin": 70,
    "mpn": 100,
    "google_product_category": 250,
    "fb_product_category": 250,
    "product_type": 750,
    "custom_label_0": 100,
    "custom_label_1": 100,
    "custom_label_2": 100,
    "custom_label_3": 100,
    "custom_label_4": 100,
}
URL_FIELDS = ("link", "image_link", "mobile_link", "checkout_url")
ENUMS = {
    "availability": AVAILABILITY,
    "condition": CONDITION,
    "gender": GENDER,
    "age_group": AGE_GROUP,
    "visibility": VISIBILITY,
}
REQUIRED = ("id", "title", "description", "availability", "condition", "price", "link", "image_link", "brand")
KNOWN_FIELDS = frozenset(
    {
        *REQUIRED,
        *MAX_LENGTH,
        *URL_FIELDS,
        "sale_price",
        "sale_price_effective_date",
        "image",
        "additional_image_link",
        "quantity_to_sell_on_facebook",
        "inventory",
        "gender",
        "age_group",
        "additional_variant_attribute",
        "custom_number_0",
        "custom_number_1",
        "custom_number_2",
        "custom_number_3",
        "custom_number_4",
        "internal_label",
        "product_tags",
        "shipping",
        "shipping_weight",
        "visibility",
        "origin_country",
        "importer_name",
        "importer_address",
        "manufacturer_info",
        "disabled_capabilities",
        "expiration_date",
        "video",
        "ordering_index",
        "vendor_id",
        "applink",
        "rating_count",
        "user_rating",
        "previous_id",
        "status",
        "unit_price",
        "commerce_tax_category",
        "marked_for_product_launch",
        "wa_compliance_category",
        "short_description",
        "return_policy_info",
        "size_system",
        "size_type",
    }
)
MAX_IMAGES = 21
MAX_ADDITIONAL_IMAGES = 50
MAX_VIDEOS = 20
# The HTML rich_text_description may hold: formatting and structure, no attributes.
RICH_TEXT_TAGS = frozenset(
    {
        "p",
        "br",
        "div",
        "span",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "strike",
        "del",
        "ins",
        "mark",
        "small",
        "sub",
        "sup",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "code",
        "hr",
    }
)
_HTML_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9]*)([^>]*)>")
# "Name:Value" pairs separated by commas, neither part empty.
_VARIANT_ATTRIBUTE = re.compile(r"^[^,:]+:[^,:]+$")
MAX_CUSTOM_NUMBER = 4294967295

# scheme, host (name, IPv4 or [IPv6]), optional port, then anything without whitespace.
_URL = re.compile(r"^https?://(?P<host>[A-Za-z0-9._~%-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:[/?#]\S*)?$")
MAX_URL_LENGTH = 2000
_PRICE = re.compile(r"^(\d{1,15}(?:\.\d{1,2})?) ([A-Z]{3})$")
_WEIGHT = re.compile(r"^\d+(?:\.\d+)? (g|kg|lb|oz)$")

MESSAGES_REQUIRED = {
    "id": "A required field is missing: id. Every item needs a unique content ID (id) of at most 100 characters.",
    "title": "A required field is missing: Products need to have a title to run in ads. Include a title "
    "for each product in your data feed file and upload it again.",
    "description": "A required field is missing: Products need to have a description to run in ads. Include "
    "a description for each product in your data feed file and upload it again.",
    "availability": "A required field is missing: Products need to have availability listed to run in ads. "
    "Include the current availability for each product in your data feed file and upload it again. You can "
    'only add the supported values "in stock", "out of stock", "preorder", "available for order", '
    '"discontinued", "pending" in US English under the "availability" column.',
    "condition": "A required field is missing: Products need to have a condition to run in ads. Include the "
    'condition ("new", "refurbished" or "used") for each product and upload it again.',
    "price": "A required field is missing: Products need to have prices to run in ads. Include the price for "
    'each product in the format "9.99 USD" and upload it again.',
    "link": "A required field is missing: Products need a link (URL) to the product page on your website. "
    "Include the link for each product and upload it again.",
    "image_link": "A required field is missing: Products need an image to run in ads. Include an image_link "
    "for each product and upload it again.",
    "brand": "A required field is missing: Products need a brand, GTIN or MPN. Include the brand for each "
    "product and upload it again.",
}
URL_MESSAGE = (
    "URL Incorrectly Formatted: The provided URL is formatted incorrectly. If multiple links are included in one "
    "field, separate them using a comma. Specifying username and password in the URL is not supported."
)


@dataclass
class Issue:
    """One error or warning about a request line."""

    message: str
    priority: str = "HIGH"


@dataclass
class ItemRequest:
    """One entry of ``requests`` after the shape check."""

    line: int
    method: str = ""
    retailer_id: str = ""
    data: dict = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


def check_request(line: int, raw: Any) -> ItemRequest:
    """Shape of one request (``{"method": ..., "data": {"id": ...}}``) and unknown fields."""
    request = ItemRequest(line=line)
    if not isinstance(raw, dict):
        request.errors.append(Issue("Invalid request: each request must be an object with method and data."))
        return request
    method = str(raw.get("method") or "").upper()
    data = raw.get("data")
    if method not in METHODS:
        shown = raw.get("method")
        request.errors.append(Issue(f'Invalid method "{shown}": use one of CREATE, UPDATE, DELETE.'))
    if not isinstance(data, dict):
        request.errors.append(Issue("Invalid request: data must be an object with the item fields."))
        return request
    request.method, request.data = method, data
    retailer_id = data.get("id")
    if isinstance(retailer_id, bool) or not isinstance(retailer_id, str | int) or str(retailer_id).strip() == "":
        hint = " (retailer_id cannot be used in data; use id)" if "retailer_id" in data else ""
        request.errors.append(Issue(MESSAGES_REQUIRED["id"] + hint))
        return request
    request.retailer_id = str(retailer_id)
    if len(request.retailer_id) > MAX_LENGTH["id"]:
        request.errors.append(Issue(f"Content ID is too long: id can have at most {MAX_LENGTH['id']} characters."))
    if "retailer_id" in data:
        request.errors.append(Issue("The field retailer_id cannot be included in the data object; send it as id."))
    if method != "DELETE":
        for name in data:
            if name not in KNOWN_FIELDS and name != "retailer_id":
                request.warnings.append(
                    Issue(
                        f"Unrecognised field: A request for item {request.retailer_id} contains unrecognised "
                        f"field: '{name}'",
                        "LOW",
                    )
                )
    return request


def parse_price(value: Any) -> tuple[Decimal, str] | None:
    """``"9.99 USD"`` -> (Decimal("9.99"), "USD"); None when malformed."""
    return _parse_price_text(value) if isinstance(value, str) else None


# Each item's price is read several times (field check, sale-price rule, stored columns)
# and a catalog has few distinct prices: a feed upload parses each text once.
@lru_cache(maxsize=4096)
def _parse_price_text(value: str) -> tuple[Decimal, str] | None:
    match = _PRICE.match(value.strip())
    if not match or match.group(2) not in ISO_4217:
        return None
    return Decimal(match.group(1)), match.group(2)


def minor_units(amount: Decimal, currency: str) -> int:
    exponent = 0 if currency in ZERO_DECIMAL else 2
    return int(amount * (10**exponent))


def is_valid_url(value: Any) -> bool:
    """An http(s) URL with a host, no spaces and no user:password part."""
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH:
        return False
    return _is_valid_url_text(value)


# Every variant of a product repeats the product's image URLs: checked once each.
@lru_cache(maxsize=8192)
def _is_valid_url_text(value: str) -> bool:
    match = _URL.match(value)
    if match is None:
        return False
    host = match.group("host")
    return "." in host or host == "localhost" or host.startswith("[")


def image_urls(value: Any) -> list[str] | None:
    """additional_image_link as a JSON list or a comma-separated string; None if neither."""
    if isinstance(value, list):
        return [str(v) for v in value] if all(isinstance(v, str) for v in value) else None
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return None


def _check_number(name: str, value: Any, maximum: int | None) -> Issue | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return Issue(f"Invalid value for {name}: {value!r} is not a whole number.")
    if number < 0 or (maximum is not None and number > maximum):
        return Issue(f"Invalid value for {name}: {number} is out of range.")
    return None


def check_fields(data: dict) -> list[Issue]:
    """Format checks on the fields a request sends (empty values clear a field)."""
    issues: list[Issue] = []
    for name, value in data.items():
        if value is None or value == "":
            continue
        if name in MAX_LENGTH and name != "id":
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                issues.append(Issue(f"Invalid value for {name}: expected text."))
            elif len(str(value)) > MAX_LENGTH[name]:
                issues.append(
                    Issue(
                        f"Field too long: {name} can have at most {MAX_LENGTH[name]} characters "
                        f"(this one has {len(str(value))})."
                    )
                )
        if name in ENUMS and value not in ENUMS[name]:
            allowed = ", ".join(f'"{v}"' for v in ENUMS[name])
            issues.append(Issue(f'Invalid value for {name}: "{value}". Use one of the supported values: {allowed}.'))
        elif name in URL_FIELDS and not is_valid_url(value):
            issues.append(Issue(f"{URL_MESSAGE} ({name})"))
        elif name in ("price", "sale_price") and parse_price(value) is None:
            issues.append(
                Issue(
                    f'Incorrect price format: The {name} "{value}" must be a number and an ISO 4217 currency code, '
                    'for example "9.99 USD".'
                )
            )
        elif name in ("quantity_to_sell_on_facebook", "inventory"):
            if problem := _check_number(name, value, None):
                issues.append(problem)
        elif name.startswith("custom_number_"):
            if problem := _check_number(name, value, MAX_CUSTOM_NUMBER):
                issues.append(problem)
        elif name == "additional_image_link":
            urls = image_urls(value)
            if urls is None or not all(is_valid_url(u) for u in urls):
                issues.append(Issue(f"{URL_MESSAGE} (additional_image_link)"))
            elif len(urls) > MAX_ADDITIONAL_IMAGES:
                issues.append(Issue(f"Too many additional images: at most {MAX_ADDITIONAL_IMAGES} are allowed."))
        elif name == "image":
            issues.extend(_check_images(value))
        elif name == "video":
            issues.extend(_check_videos(value))
        elif name == "rich_text_description" and isinstance(value, str) and (problem := _check_rich_text(value)):
            issues.append(problem)
        elif name == "additional_variant_attribute" and not _valid_variant_attributes(value):
            issues.append(
                Issue(
                    f'Invalid value for additional_variant_attribute: "{value}". Use name:value pairs separated '
                    'by commas, for example "Scent:Fruity,Flavor:Apple".'
                )
            )
        elif name == "sale_price_effective_date" and not _valid_date_range(value):
            issues.append(
                Issue(
                    "Invalid sale_price_effective_date: use ISO 8601 start and end separated by a slash, for "
                    "example 2025-11-01T12:00-0300/2025-12-01T00:00-0300."
                )
            )
        elif name == "shipping_weight" and not (isinstance(value, str) and _WEIGHT.match(value.strip())):
            issues.append(Issue(f'Invalid shipping_weight "{value}": use a number and g, kg, lb or oz.'))
    return issues


def _check_images(value: Any) -> list[Issue]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return [Issue('Invalid value for image: expected a list of {"url": ..., "tag": [...]} objects.')]
    if len(value) > MAX_IMAGES:
        return [Issue(f"Too many images: at most {MAX_IMAGES} are allowed.")]
    if not all(is_valid_url(v.get("url")) for v in value):
        return [Issue(f"{URL_MESSAGE} (image)")]
    return []


def _check_videos(value: Any) -> list[Issue]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return [Issue('Invalid value for video: expected a list of {"url": ..., "tag": [...]} objects.')]
    if len(value) > MAX_VIDEOS:
        return [Issue(f"Too many videos: at most {MAX_VIDEOS} are allowed.")]
    if not all(is_valid_url(v.get("url")) for v in value):
        return [Issue(f"{URL_MESSAGE} (video)")]
    return []


def _check_rich_text(value: str) -> Issue | None:
    """Tags or attributes rich_text_description does not support (scripts, styles, links, images...)."""
    for match in _HTML_TAG.finditer(value):
        closing, tag, rest = match.group(1), match.group(2).lower(), match.group(3).strip().rstrip("/").strip()
        if tag not in RICH_TEXT_TAGS:
            return Issue(f"Invalid rich_text_description: the HTML tag <{tag}> is not supported.")
        if rest and not closing:
            return Issue(f"Invalid rich_text_description: HTML attributes are not supported (<{tag} {rest}>).")
    return None


def _valid_variant_attributes(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return all(_VARIANT_ATTRIBUTE.match(part.strip()) for part in value.split(","))


def _valid_date_range(value: Any) -> bool:
    if not isinstance(value, str) or value.count("/") != 1:
        return False
    try:
        start, end = (datetime.fromisoformat(part.strip()) for part in value.split("/"))
    except ValueError:
        return False
    return start <= end


def check_required(item: dict) -> list[Issue]:
    """Mandatory fields and cross-field rules on the item as it would be stored."""
    issues = []
    for name in REQUIRED:
        if name == "image_link" and item.get("image"):
            continue
        if name == "brand" and (item.get("gtin") or item.get("mpn")):
            continue
        if item.get(name) in (None, ""):
            issues.append(Issue(MESSAGES_REQUIRED[name]))
    price, sale = parse_price(item.get("price")), parse_price(item.get("sale_price"))
    if price and price[0] <= 0:
        issues.append(Issue(f'Invalid price: the price "{item["price"]}" must be greater than zero.'))
    if price and sale:
        if sale[1] != price[1]:
            issues.append(Issue("Invalid sale price: sale_price must use the same currency as price."))
        elif sale[0] >= price[0]:
            issues.append(
                Issue(
                    f'Invalid sale price: the sale_price "{item["sale_price"]}" must be lower than the price '
                    f'"{item["price"]}".'
                )
            )
    return issues


def recommended_warnings(item: dict) -> list[Issue]:
    """Warnings about optional but recommended fields (they don't block the item)."""
    if not item.get("google_product_category") and not item.get("fb_product_category"):
        return [
            Issue(
                "These fields have missing information: Make items easier to discover by providing "
                "google_product_category information.",
                "MEDIUM",
            )
        ]
    return []


def price_columns(item: dict) -> tuple[str, int | None, int | None]:
    """(currency, price, sale price) with prices in minor units, for filters."""
    price, sale = parse_price(item.get("price")), parse_price(item.get("sale_price"))
    currency = price[1] if price else ""
    try:
        return (
            currency,
            minor_units(*price) if price else None,
            minor_units(*sale) if sale else None,
        )
    except InvalidOperation:  # pragma: no cover - the regex only lets digits through
        return currency, None, None
