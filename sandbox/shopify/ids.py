"""Shopify-style identifiers: numeric legacy ids, ``gid://shopify/Type/N`` global ids, opaque cursors.

Shopify's numeric ids live in separate ranges per resource (products ~7.6e12, variants ~4.4e13,
inventory items ~4.6e13). The sandbox imitates that: each shop owns a block of serial numbers
and every resource type adds its own large prefix, so ids look real and never collide between
types or shops.
"""

import base64
import binascii
import json
from typing import Any

# Prefixes give each resource type its own range of plausible-looking ids.
PREFIXES = {
    "Product": 7_600_000_000_000,
    "ProductVariant": 44_000_000_000_000,
    "InventoryItem": 46_000_000_000_000,
    "ProductImage": 39_000_000_000_000,
    "MediaImage": 33_000_000_000_000,
    "Collection": 450_000_000_000,
    "Location": 70_000_000_000,
    "WebhookSubscription": 1_300_000_000_000,
    "BulkOperation": 5_100_000_000_000,
    "Order": 6_200_000_000_000,
    "LineItem": 15_000_000_000_000,
    "ProductOption": 10_000_000_000_000,
    "InventoryAdjustmentGroup": 28_000_000_000_000,
    "Video": 34_000_000_000_000,
    "Metafield": 26_000_000_000_000,
}
# Serial numbers a single shop may use (a million-variant shop needs ~1.2M of them).
SHOP_ID_BLOCK = 1_000_000_000


def legacy_id(type_name: str, id_base: int, serial: int) -> int:
    """The numeric id of the `serial`-th object of a shop whose block starts at `id_base`."""
    return PREFIXES[type_name] + id_base + serial


def gid(type_name: str, number: int | str) -> str:
    """``gid://shopify/Product/123``."""
    return f"gid://shopify/{type_name}/{number}"


def parse_gid(value: str) -> tuple[str, int] | None:
    """Split a global id into (type, number); None when it is not a Shopify gid."""
    if not isinstance(value, str) or not value.startswith("gid://shopify/"):
        return None
    rest = value[len("gid://shopify/") :]
    type_name, _, number = rest.partition("/")
    number = number.split("?", 1)[0]
    if not type_name or not number.isdigit():
        return None
    return type_name, int(number)


def encode_cursor(payload: dict[str, Any]) -> str:
    """An opaque cursor (base64 of compact JSON), as Shopify's look."""
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any] | None:
    """The payload of a cursor made by `encode_cursor`; None when it is not one."""
    if not isinstance(cursor, str) or not cursor:
        return None
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
