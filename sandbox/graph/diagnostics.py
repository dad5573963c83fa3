"""``GET /{catalog_id}/diagnostics``: item errors summarised as ``ProductCatalogDiagnosticGroup``s."""

from __future__ import annotations

from collections import defaultdict

from ..models import ProductCatalog, ProductItem
from . import errors, taxonomy
from .params import Params

TYPES = (
    "AR_VISIBILITY_ISSUES",
    "ATTRIBUTES_INVALID",
    "ATTRIBUTES_MISSING",
    "CATEGORY",
    "CHECKOUT",
    "DA_VISIBILITY_ISSUES",
    "EVENT_SOURCE_ISSUES",
    "IMAGE_QUALITY",
    "LOW_QUALITY_TITLE_AND_DESCRIPTION",
    "POLICY_VIOLATION",
    "SHOPS_VISIBILITY_ISSUES",
)
SEVERITIES = ("MUST_FIX", "OPPORTUNITY")
CHANNELS = (
    "b2c_marketplace",
    "c2c_marketplace",
    "da",
    "daily_deals",
    "daily_deals_legacy",
    "ig_product_tagging",
    "marketplace",
    "marketplace_ads_deprecated",
    "marketplace_shops",
    "mini_shops",
    "offline_conversions",
    "shops",
    "universal_checkout",
    "whatsapp",
)
ENTITIES = ("product_catalog", "product_event", "product_item", "product_set")
FEATURES = ("augmented_reality", "checkout")
ITEM_CHANNELS = ["da", "marketplace", "shops", "whatsapp"]
GROUP_TITLES = {
    "IMAGE_QUALITY": ("Fix image issues", "Items with missing, broken or low-quality images"),
    "ATTRIBUTES_MISSING": ("Add missing information", "Items missing required or recommended fields"),
    "ATTRIBUTES_INVALID": ("Fix invalid information", "Items with invalid field values or links"),
    "LOW_QUALITY_TITLE_AND_DESCRIPTION": ("Improve titles and descriptions", "Items with low-quality text"),
    "POLICY_VIOLATION": ("Items rejected by policy review", "Items that don't comply with Commerce Policies"),
    "CATEGORY": ("Add product categories", "Items without a Google or Facebook product category"),
    "CHECKOUT": ("Fix checkout issues", "Items that can't be bought with checkout"),
    "EVENT_SOURCE_ISSUES": ("Connect an event source", "Your catalog isn't connected to a pixel or app"),
    "SHOPS_VISIBILITY_ISSUES": ("Items not visible in your shop", "Items people can't see in your shop"),
}
SAMPLE_ITEMS = 5


def _list_param(params: Params, name: str, allowed: tuple[str, ...]) -> list[str]:
    values = params.list(name)
    for value in values:
        if value not in allowed:
            raise errors.invalid_param(f'Param {name}[] must be one of {{{", ".join(allowed)}}} - got "{value}"')
    return values


def _item_groups(catalog: ProductCatalog) -> dict[str, dict]:
    per_type: dict[str, dict] = {}
    items_with_errors = ProductItem.objects.filter(catalog=catalog).exclude(error_keys="")
    for item_pk, retailer_id, item_errors in items_with_errors.values_list("pk", "retailer_id", "errors").iterator(
        chunk_size=2000
    ):
        for error in item_errors:
            entry = per_type.setdefault(
                error["error_type"], {"priority": error["error_priority"], "items": 0, "samples": []}
            )
            entry["items"] += 1
            if len(entry["samples"]) < SAMPLE_ITEMS:
                entry["samples"].append({"id": ProductItem(pk=item_pk).fbid, "retailer_id": retailer_id})
    groups: dict[str, dict] = defaultdict(lambda: {"diagnostics": [], "must_fix": False, "items": 0})
    for error_type, entry in sorted(per_type.items()):
        info = taxonomy.describe(error_type)
        group = groups[taxonomy.diagnostic_type(error_type)]
        group["must_fix"] |= entry["priority"] == "HIGH"
        group["items"] = max(group["items"], entry["items"])
        group["diagnostics"].append(
            {
                "type": error_type,
                "title": info.title,
                "subtitle": info.description,
                "severity": "MUST_FIX" if entry["priority"] == "HIGH" else "OPPORTUNITY",
                "call_to_action": {"type": "FIX_ITEMS", "text": info.call_to_action},
                "number_of_affected_items": entry["items"],
                "sample_affected_items": entry["samples"],
            }
        )
    return groups


def catalog_diagnostics(catalog: ProductCatalog, params: Params) -> list[dict]:
    """The catalog's diagnostic groups, filtered like Meta filters them."""
    types = _list_param(params, "types", TYPES)
    severities = _list_param(params, "severities", SEVERITIES)
    channels = _list_param(params, "affected_channels", CHANNELS)
    entities = _list_param(params, "affected_entities", ENTITIES)
    features = _list_param(params, "affected_features", FEATURES)
    result = []
    for index, (group_type, group) in enumerate(sorted(_item_groups(catalog).items())):
        title, subtitle = GROUP_TITLES.get(group_type, (group_type.replace("_", " ").capitalize(), ""))
        result.append(
            {
                "title": title,
                "subtitle": subtitle,
                "type": group_type,
                "severity": "MUST_FIX" if group["must_fix"] else "OPPORTUNITY",
                "error_code": 2600 + TYPES.index(group_type) if group_type in TYPES else 2600 + index,
                "affected_channels": ITEM_CHANNELS,
                "affected_entity": "product_item",
                "affected_features": ["checkout"] if group_type == "CHECKOUT" else [],
                "number_of_affected_items": group["items"],
                "number_of_affected_entities": group["items"],
                "diagnostics": group["diagnostics"],
            }
        )
    if not catalog.external_event_sources.exists():
        info = taxonomy.describe("CATALOG_NOT_CONNECTED_TO_EVENT_SOURCE")
        title, subtitle = GROUP_TITLES["EVENT_SOURCE_ISSUES"]
        result.append(
            {
                "title": title,
                "subtitle": subtitle,
                "type": "EVENT_SOURCE_ISSUES",
                "severity": "OPPORTUNITY",
                "error_code": 2600 + TYPES.index("EVENT_SOURCE_ISSUES"),
                "affected_channels": ["da"],
                "affected_entity": "product_catalog",
                "affected_features": [],
                "number_of_affected_items": 0,
                "number_of_affected_entities": 1,
                "diagnostics": [
                    {
                        "type": "CATALOG_NOT_CONNECTED_TO_EVENT_SOURCE",
                        "title": info.title,
                        "subtitle": info.description,
                        "severity": "OPPORTUNITY",
                        "call_to_action": {"type": "CONNECT_EVENT_SOURCE", "text": info.call_to_action},
                    }
                ],
            }
        )
    return [
        group
        for group in result
        if (not types or group["type"] in types)
        and (not severities or group["severity"] in severities)
        and (not channels or set(channels) & set(group["affected_channels"]))
        and (not entities or group["affected_entity"] in entities)
        and (not features or set(features) & set(group["affected_features"]))
    ]
