"""Meta's item error taxonomy (all 184 ``ProductItem.ErrorType`` values of the SDK) and the
deterministic "async item checks" the sandbox runs after ingestion.

The checks are rules on the item data so tests and the demo can provoke each
diagnostic on purpose, e.g. an image URL containing ``broken`` fails to fetch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .error_types import ERROR_TYPES

_IMAGE_SPEC = (
    "Images must be in JPEG or PNG format, less than 8 MB and at least 500 x 500 pixels. "
    '<a href="https://www.facebook.com/business/help/686259348512056">See all product image specifications</a>.'
)
_NEW_IMAGE_CTA = (
    "After you've made changes, save the image under a different link (URL) and provide the new link. Check "
    "that the link begins with http:// or https:// and isn't broken. Make sure that it doesn't block Meta from "
    "accessing the image."
)


@dataclass(frozen=True)
class ErrorInfo:
    """How Meta describes one error type and how urgent it usually is."""

    priority: str
    title: str
    description: str
    call_to_action: str


# The error types the sandbox's item checks produce, worded like Commerce Manager.
KNOWN: dict[str, ErrorInfo] = {
    "IMAGE_FETCH_FAILED": ErrorInfo(
        "HIGH",
        "Image couldn't be downloaded",
        f"We couldn't download the main image of this item from the link you provided. {_IMAGE_SPEC}",
        _NEW_IMAGE_CTA,
    ),
    "IMAGE_RESOLUTION_LOW": ErrorInfo(
        "HIGH",
        "Missing or invalid images",
        f"The main image of this item cannot be displayed. {_IMAGE_SPEC}",
        _NEW_IMAGE_CTA,
    ),
    "QUALITY_ITEM_LINK_BROKEN": ErrorInfo(
        "HIGH",
        "Website link is broken",
        "The link (URL) to this item's page on your website doesn't work, so people can't buy it.",
        "Check the product link in your store and provide a working link for this item.",
    ),
    "PRODUCT_URL_EQUALS_DOMAIN": ErrorInfo(
        "MEDIUM",
        "Product link goes to your home page",
        "The website link of this item points at your home page instead of the item's own page.",
        "Provide the link of the product's own page on your website.",
    ),
    "PROPERTY_VALUE_STRING_TOO_SHORT": ErrorInfo(
        "LOW",
        "Description is too short",
        "The description of this item is very short. Detailed descriptions help people decide to buy.",
        "Write a description of at least a few sentences covering material, fit and use.",
    ),
    "DUPLICATE_TITLE_AND_DESCRIPTION": ErrorInfo(
        "LOW",
        "Title and description are the same",
        "This item's description repeats its title, so it adds no information for buyers.",
        "Write a description that tells people more than the title does.",
    ),
    "PROPERTY_VALUE_UPPERCASE_WARNING": ErrorInfo(
        "LOW",
        "Title is in capital letters",
        "Titles written entirely in capital letters are harder to read and may show less often.",
        "Rewrite the title in sentence case.",
    ),
    "PROPERTY_VALUE_CONTAINS_HTML_TAGS": ErrorInfo(
        "MEDIUM",
        "Description contains HTML",
        "The description contains HTML tags, which are shown as text to buyers.",
        "Remove HTML from the description, or send formatted text as rich_text_description.",
    ),
    "PROPERTY_VALUE_MISSING_WARNING": ErrorInfo(
        "LOW",
        "Missing category",
        "Make items easier to discover by providing google_product_category or fb_product_category information.",
        "Add a Google or Facebook product category to the item.",
    ),
    "INVENTORY_ZERO_AVAILABILITY_IN_STOCK": ErrorInfo(
        "MEDIUM",
        "In stock with no inventory",
        'The item is marked "in stock" but quantity_to_sell_on_facebook is 0, so it can\'t be bought.',
        "Update the inventory or mark the item out of stock.",
    ),
    "PRODUCT_NOT_APPROVED": ErrorInfo(
        "HIGH",
        "Item rejected",
        "This item doesn't comply with our Commerce Policies and can't be shown in shops or product messages.",
        "Review the Commerce Policies, change the item and request another review in Commerce Manager.",
    ),
    "MISSING_SIZE": ErrorInfo(
        "MEDIUM",
        "Missing size",
        "Apparel items need a size so people can choose the right variant.",
        "Add the size of each variant of this item.",
    ),
    "CATALOG_NOT_CONNECTED_TO_EVENT_SOURCE": ErrorInfo(
        "MEDIUM",
        "Connect a pixel to your catalog",
        "Your catalog isn't connected to a pixel or app, so ads can't show people the items they viewed.",
        "Connect a Meta Pixel to this catalog in Commerce Manager (Events > Event sources).",
    ),
}

DIAGNOSTIC_TYPES = {
    "IMAGE_QUALITY": ("IMAGE", "BAD_QUALITY_IMAGE", "DUPLICATE_IMAGES", "NOT_ENOUGH_IMAGES"),
    "ATTRIBUTES_MISSING": ("EMPTY_", "MISSING_", "PROPERTY_VALUE_MISSING", "UNIQUE_PRODUCT_IDENTIFIER_MISSING"),
    "LOW_QUALITY_TITLE_AND_DESCRIPTION": (
        "DUPLICATE_TITLE_AND_DESCRIPTION",
        "PROPERTY_VALUE_UPPERCASE",
        "PROPERTY_VALUE_STRING_TOO_SHORT",
        "PROPERTY_VALUE_CONTAINS_HTML_TAGS",
        "QUALITY_DUPLICATED_DESCRIPTION",
    ),
    "POLICY_VIOLATION": ("POLICY", "NOT_APPROVED", "ILLEGAL_PRODUCT_CATEGORY"),
    "CATEGORY": ("UNSUPPORTED_PRODUCT_CATEGORY",),
    "CHECKOUT": ("CHECKOUT",),
    "EVENT_SOURCE_ISSUES": ("EVENT", "UNMATCHED_EVENTS", "AEM"),
    "ATTRIBUTES_INVALID": ("INVALID", "PROPERTY_", "PRICE", "QUALITY_ITEM_LINK", "PRODUCT_URL", "RETAILER_ID"),
}


def describe(error_type: str) -> ErrorInfo:
    """Title, description, call to action and usual priority of an error type."""
    if error_type in KNOWN:
        return KNOWN[error_type]
    words = error_type.replace("_", " ").capitalize()
    return ErrorInfo(
        "HIGH" if ("POLICY" in error_type or error_type.startswith("EMPTY_")) else "MEDIUM",
        words,
        f"{words}. See the item in Commerce Manager for details.",
        "Fix the item data in your store; the next sync sends the change.",
    )


def diagnostic_type(error_type: str) -> str:
    """The ``ProductCatalogDiagnosticGroup.type`` an item error is summarised under."""
    if error_type == "PROPERTY_VALUE_MISSING_WARNING":
        return "CATEGORY"
    for group, markers in DIAGNOSTIC_TYPES.items():
        if any(marker in error_type for marker in markers):
            return group
    return "SHOPS_VISIBILITY_ISSUES"


def catalog_all_errors() -> list[dict]:
    """Every error type with its title, description and call to action (``GET /catalog_all_errors``)."""
    rows = []
    for error_type in ERROR_TYPES:
        info = describe(error_type)
        rows.append(
            {
                "error_type": error_type,
                "error_priority": info.priority,
                "title": info.title,
                "description": info.description,
                "call_to_action": info.call_to_action,
            }
        )
    return rows


def item_error(error_type: str, priority: str | None = None) -> dict:
    """A ``ProductItemError`` object (plus Meta's ``call_to_action``)."""
    info = describe(error_type)
    return {
        "error_type": error_type,
        "error_priority": priority or info.priority,
        "title": info.title,
        "description": info.description,
        "call_to_action": info.call_to_action,
    }


@dataclass
class CheckResult:
    errors: list[dict]
    review_outcome: str
    rejection_reasons: list[str]
    image_fetch_status: str


_HTML_TAG = re.compile(r"<[a-zA-Z/][^>]*>")
_POLICY_WORDS = re.compile(r"\b(replica|counterfeit|knock-?off)\b", re.IGNORECASE)
_APPAREL = re.compile(r"apparel|clothing", re.IGNORECASE)
SHORT_DESCRIPTION = 30


def check_item(data: dict) -> CheckResult:
    """The asynchronous item checks: deterministic rules on the ingested item."""
    found: list[str] = []
    image = str(data.get("image_link") or "")
    if not image and isinstance(data.get("image"), list) and data["image"]:
        image = str((data["image"][0] or {}).get("url") or "")
    image_status = "FETCHED"
    if "broken" in image.lower():
        found.append("IMAGE_FETCH_FAILED")
        image_status = "FETCH_FAILED"
    elif any(marker in image.lower() for marker in ("small", "tiny", "thumb")):
        found.append("IMAGE_RESOLUTION_LOW")
    link = str(data.get("link") or "")
    if "broken" in link.lower():
        found.append("QUALITY_ITEM_LINK_BROKEN")
    elif link and urlsplit(link).path in ("", "/"):
        found.append("PRODUCT_URL_EQUALS_DOMAIN")
    title = str(data.get("title") or "")
    description = str(data.get("description") or "")
    if _HTML_TAG.search(description):
        found.append("PROPERTY_VALUE_CONTAINS_HTML_TAGS")
    if description and description.strip().lower() == title.strip().lower():
        found.append("DUPLICATE_TITLE_AND_DESCRIPTION")
    elif len(description.strip()) < SHORT_DESCRIPTION:
        found.append("PROPERTY_VALUE_STRING_TOO_SHORT")
    if len(title) > 3 and title.isupper():
        found.append("PROPERTY_VALUE_UPPERCASE_WARNING")
    if not data.get("google_product_category") and not data.get("fb_product_category"):
        found.append("PROPERTY_VALUE_MISSING_WARNING")
    quantity = data.get("quantity_to_sell_on_facebook")
    if data.get("availability") == "in stock" and str(quantity) == "0":
        found.append("INVENTORY_ZERO_AVAILABILITY_IN_STOCK")
    category_text = f"{data.get('product_type') or ''} {data.get('google_product_category') or ''}"
    if _APPAREL.search(category_text) and not data.get("size"):
        found.append("MISSING_SIZE")
    reasons = []
    if _POLICY_WORDS.search(f"{title} {description}"):
        found.append("PRODUCT_NOT_APPROVED")
        reasons.append("COUNTERFEIT")
    return CheckResult(
        errors=[item_error(error_type) for error_type in found],
        review_outcome="rejected" if reasons else "approved",
        rejection_reasons=reasons,
        image_fetch_status=image_status,
    )


def error_keys(errors: list[dict]) -> str:
    """``|PRIORITY:TYPE|...|`` for SQL filtering by error_priority / error_type."""
    if not errors:
        return ""
    return "|" + "|".join(f"{e['error_priority']}:{e['error_type']}" for e in errors) + "|"
