"""Sandbox rows as Graph API nodes, honouring the ``fields=`` selection.

Each node type maps a field name to a getter; a selected field the sandbox has no
value for is left out, as Meta leaves out empty fields.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..models import (
    Business,
    CommerceMerchantSettings,
    FeedUpload,
    FeedUploadError,
    Pixel,
    ProductCatalog,
    ProductFeed,
    ProductGroup,
    ProductItem,
    ProductSet,
    SystemUser,
)
from .currencies import ZERO_DECIMAL
from .fields import FieldSpec, Selection, resolve
from .validation import image_urls

Getter = Callable[[Any, FieldSpec], Any]
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "BRL": "R$", "CAD": "CA$", "AUD": "A$"}
CAPABILITIES = ("marketplace", "shops", "whatsapp", "mini_shops", "da")


def graph_time(value: datetime | None) -> str | None:
    """Graph API timestamps: ``2025-11-23T13:32:00+0000``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S%z") if value else None


def format_money(minor: int | None, currency: str) -> str | None:
    """A price as Graph reads it back, e.g. ``$1,234.50``."""
    if minor is None or not currency:
        return None
    amount = f"{minor:,}" if currency in ZERO_DECIMAL else f"{Decimal(minor) / 100:,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


def _render(obj: Any, selection: Selection, getters: dict[str, Getter]) -> dict:
    result: dict = {}
    for name, spec in selection.items():
        getter = getters.get(name)
        if getter is None:
            continue
        value = getter(obj, spec)
        if value is not None:
            result[name] = value
    return result


def select_dict(values: dict, selection: Selection | None) -> dict:
    """Pick the selected keys of a computed node (e.g. a batch status)."""
    if selection is None:
        return values
    return {name: values[name] for name in selection if name in values}


# --- accounts -----------------------------------------------------------------------


def business_node(business: Business, selection: Selection | None) -> dict:
    selection = resolve(selection, "Business", ("id", "name"))
    return _render(
        business,
        selection,
        {
            "id": lambda b, s: b.fbid,
            "name": lambda b, s: b.name,
            "created_time": lambda b, s: graph_time(b.created_at),
            "verification_status": lambda b, s: "verified",
        },
    )


def user_node(user: SystemUser, selection: Selection | None) -> dict:
    selection = resolve(selection, "User", ("id", "name"))
    return _render(user, selection, {"id": lambda u, s: u.fbid, "name": lambda u, s: u.name})


def pixel_node(pixel: Pixel, selection: Selection | None) -> dict:
    selection = resolve(selection, "AdsPixel", ("id", "name"))
    return _render(
        pixel,
        selection,
        {
            "id": lambda p, s: p.fbid,
            "name": lambda p, s: p.name,
            "creation_time": lambda p, s: graph_time(p.created_at),
            "last_fired_time": lambda p, s: graph_time(p.last_fired_time),
            "owner_business": lambda p, s: business_node(p.business, s.children),
            "is_unavailable": lambda p, s: False,
        },
    )


def event_source_node(pixel: Pixel, selection: Selection | None) -> dict:
    selection = resolve(selection, "ExternalEventSource", ("id", "name", "source_type"))
    return _render(
        pixel,
        selection,
        {"id": lambda p, s: p.fbid, "name": lambda p, s: p.name, "source_type": lambda p, s: "PIXEL"},
    )


# --- catalogs -----------------------------------------------------------------------


def commerce_settings_node(settings: CommerceMerchantSettings, selection: Selection | None) -> dict:
    selection = resolve(selection, "CommerceMerchantSettings", ("id",))
    return _render(
        settings,
        selection,
        {
            "id": lambda c, s: c.fbid,
            "cta": lambda c, s: c.cta,
            "display_name": lambda c, s: c.display_name,
            "merchant_status": lambda c, s: c.merchant_status,
            "contact_email": lambda c, s: c.contact_email or None,
        },
    )


def catalog_node(catalog: ProductCatalog, selection: Selection | None) -> dict:
    selection = resolve(selection, "ProductCatalog", ("id", "name"))

    def commerce(c: ProductCatalog, spec: FieldSpec) -> dict | None:
        settings = CommerceMerchantSettings.objects.filter(catalog=c).first()
        return commerce_settings_node(settings, spec.children) if settings else None

    return _render(
        catalog,
        selection,
        {
            "id": lambda c, s: c.fbid,
            "name": lambda c, s: c.name,
            "vertical": lambda c, s: c.vertical,
            "product_count": lambda c, s: c.items.count(),
            "feed_count": lambda c, s: c.feeds.count(),
            "business": lambda c, s: business_node(c.business, s.children),
            "owner_business": lambda c, s: business_node(c.business, s.children),
            "commerce_merchant_settings": commerce,
            "default_image_url": lambda c, s: c.default_image_url or None,
            "fallback_image_url": lambda c, s: [c.fallback_image_url] if c.fallback_image_url else None,
            "is_catalog_segment": lambda c, s: False,
            "is_local_catalog": lambda c, s: False,
        },
    )


# --- items --------------------------------------------------------------------------


def _data(key: str) -> Getter:
    return lambda item, spec: item.data.get(key) if item.data.get(key) not in (None, "") else None


def _number(key: str) -> Getter:
    """Whole-number fields (feeds deliver them as text, Graph reads them as integers)."""

    def get(item: ProductItem, spec: FieldSpec) -> int | None:
        value = item.data.get(key)
        try:
            return int(str(value).strip()) if value not in (None, "") else None
        except ValueError:
            return None

    return get


def _capabilities(item: ProductItem, spec: FieldSpec) -> list[dict]:
    disabled = set(item.data.get("disabled_capabilities") or [])
    status = {"approved": "APPROVED", "rejected": "REJECTED", "outdated": "OUTDATED"}.get(item.review_status, "PENDING")
    return [{"key": cap, "value": "NO_REVIEW" if cap in disabled else status} for cap in CAPABILITIES]


def _sale_dates(item: ProductItem) -> tuple[str | None, str | None]:
    value = item.data.get("sale_price_effective_date")
    if not isinstance(value, str) or "/" not in value:
        return None, None
    start, end = value.split("/", 1)
    return start.strip(), end.strip()


def _variant_attributes(item: ProductItem, spec: FieldSpec) -> list[dict] | None:
    value = item.data.get("additional_variant_attribute")
    if not isinstance(value, str) or not value:
        return None
    pairs = [part.split(":", 1) for part in value.split(",") if ":" in part]
    return [{"key": key.strip(), "value": val.strip()} for key, val in pairs]


def _errors(item: ProductItem, spec: FieldSpec) -> list[dict]:
    rows = item.errors or []
    if spec.children:
        rows = [{k: v for k, v in row.items() if k in spec.children} for row in rows]
    return rows[: spec.limit] if spec.limit else rows


def _shipping_weight(item: ProductItem, index: int) -> Any:
    value = item.data.get("shipping_weight")
    if not isinstance(value, str) or " " not in value:
        return None
    number, unit = value.split(" ", 1)
    return float(number) if index == 0 else unit


ITEM_GETTERS: dict[str, Getter] = {
    "id": lambda i, s: i.fbid,
    "retailer_id": lambda i, s: i.retailer_id,
    "name": lambda i, s: i.title or None,
    "description": _data("description"),
    "rich_text_description": _data("rich_text_description"),
    "short_description": _data("short_description"),
    "availability": lambda i, s: i.availability or None,
    "condition": lambda i, s: i.condition or None,
    "brand": lambda i, s: i.brand or None,
    "price": lambda i, s: format_money(i.price_amount, i.currency),
    "sale_price": lambda i, s: format_money(i.sale_price_amount, i.currency),
    "sale_price_start_date": lambda i, s: _sale_dates(i)[0],
    "sale_price_end_date": lambda i, s: _sale_dates(i)[1],
    "currency": lambda i, s: i.currency or None,
    "url": _data("link"),
    "mobile_link": _data("mobile_link"),
    "checkout_url": _data("checkout_url"),
    "image_url": lambda i, s: i.data.get("image_link") or ((i.data.get("image") or [{}])[0].get("url")),
    "additional_image_urls": lambda i, s: image_urls(i.data.get("additional_image_link")),
    "images": lambda i, s: (
        [u for u in [i.data.get("image_link")] if u] + (image_urls(i.data.get("additional_image_link")) or [])
    ),
    "color": _data("color"),
    "size": _data("size"),
    "pattern": _data("pattern"),
    "material": _data("material"),
    "gender": _data("gender"),
    "age_group": _data("age_group"),
    "product_type": lambda i, s: i.product_type or None,
    "category": _data("google_product_category"),
    "fb_product_category": _data("fb_product_category"),
    "gtin": _data("gtin"),
    "manufacturer_part_number": _data("mpn"),
    "origin_country": _data("origin_country"),
    "importer_name": _data("importer_name"),
    "manufacturer_info": _data("manufacturer_info"),
    "expiration_date": _data("expiration_date"),
    "vendor_id": _data("vendor_id"),
    "ordering_index": _number("ordering_index"),
    "quantity_to_sell_on_facebook": _number("quantity_to_sell_on_facebook"),
    "inventory": lambda i, s: _number("quantity_to_sell_on_facebook")(i, s) or _number("inventory")(i, s),
    "retailer_product_group_id": lambda i, s: i.item_group_id or None,
    "product_group": lambda i, s: group_node(i.group, s.children) if i.group_id else None,
    "product_catalog": lambda i, s: catalog_node(i.catalog, s.children),
    "product_feed": lambda i, s: feed_node(i.feed, s.children) if i.feed_id else None,
    "visibility": lambda i, s: i.visibility,
    "status": lambda i, s: "STAGING" if i.visibility == "staging" else "PUBLISHED",
    "review_status": lambda i, s: i.review_status,
    "review_rejection_reasons": lambda i, s: ["COUNTERFEIT"] if i.review_status == "rejected" else [],
    "errors": _errors,
    "image_fetch_status": lambda i, s: i.image_fetch_status,
    "capability_to_review_status": _capabilities,
    "capabilities_disabled_by_user": lambda i, s: list(i.data.get("disabled_capabilities") or []),
    "tags": lambda i, s: i.data.get("internal_label") or i.data.get("product_tags"),
    "additional_variant_attributes": _variant_attributes,
    "videos": lambda i, s: (
        [{"url": v.get("url"), "tags": v.get("tag") or []} for v in i.data.get("video") or [] if isinstance(v, dict)]
        or None
    ),
    "shipping_weight_value": lambda i, s: _shipping_weight(i, 0),
    "shipping_weight_unit": lambda i, s: _shipping_weight(i, 1),
    **{f"custom_label_{n}": _data(f"custom_label_{n}") for n in range(5)},
    **{f"custom_number_{n}": _number(f"custom_number_{n}") for n in range(5)},
}


def item_node(item: ProductItem, selection: Selection | None) -> dict:
    return _render(item, resolve(selection, "ProductItem", ("id", "name")), ITEM_GETTERS)


def item_selection(selection: Selection | None) -> Selection:
    """Validate an item selection once for a whole page of items."""
    return resolve(selection, "ProductItem", ("id", "name"))


def group_node(group: ProductGroup, selection: Selection | None) -> dict:
    selection = resolve(selection, "ProductGroup", ("id",))
    return _render(
        group,
        selection,
        {
            "id": lambda g, s: g.fbid,
            "retailer_id": lambda g, s: g.retailer_id,
            "product_catalog": lambda g, s: catalog_node(g.catalog, s.children),
        },
    )


# --- feeds --------------------------------------------------------------------------


def feed_node(feed: ProductFeed, selection: Selection | None) -> dict:
    selection = resolve(selection, "ProductFeed", ("id", "name"))

    def latest(f: ProductFeed, spec: FieldSpec) -> dict | None:
        upload = f.uploads.order_by("-pk").first()
        return upload_node(upload, spec.children or {"id": FieldSpec("id")}) if upload else None

    return _render(
        feed,
        selection,
        {
            "id": lambda f, s: f.fbid,
            "name": lambda f, s: f.name,
            "created_time": lambda f, s: graph_time(f.created_time),
            "country": lambda f, s: f.country or None,
            "default_currency": lambda f, s: f.default_currency or None,
            "deletion_enabled": lambda f, s: f.deletion_enabled,
            "delimiter": lambda f, s: f.delimiter,
            "encoding": lambda f, s: f.encoding,
            "file_name": lambda f, s: f.file_name or None,
            "ingestion_source_type": lambda f, s: f.ingestion_source_type,
            "item_sub_type": lambda f, s: f.item_sub_type or None,
            "feed_type": lambda f, s: f.feed_type,
            "quoted_fields_mode": lambda f, s: f.quoted_fields_mode,
            "schedule": lambda f, s: f.schedule,
            "update_schedule": lambda f, s: f.update_schedule,
            "product_count": lambda f, s: f.items.count(),
            "latest_upload": latest,
        },
    )


UPLOAD_DEFAULTS = (
    "id",
    "start_time",
    "end_time",
    "url",
    "filename",
    "input_method",
    "num_detected_items",
    "num_persisted_items",
    "num_deleted_items",
    "num_invalid_items",
    "error_count",
    "warning_count",
)


def upload_node(upload: FeedUpload, selection: Selection | None) -> dict:
    selection = resolve(selection, "ProductFeedUpload", UPLOAD_DEFAULTS)
    getters: dict[str, Getter] = {
        "id": lambda u, s: u.fbid,
        "start_time": lambda u, s: graph_time(u.start_time),
        "end_time": lambda u, s: graph_time(u.end_time),
        "url": lambda u, s: u.url or None,
        "filename": lambda u, s: u.filename or None,
        "input_method": lambda u, s: u.input_method,
        "error_report": lambda u, s: {"report_status": "NOT_REQUESTED"},
    }
    for counter in UPLOAD_DEFAULTS[6:]:
        getters[counter] = lambda u, s, counter=counter: getattr(u, counter)
    return _render(upload, selection, getters)


def upload_error_node(error: FeedUploadError, selection: Selection | None) -> dict:
    selection = resolve(
        selection,
        "ProductFeedUploadError",
        ("id", "summary", "description", "error_type", "severity", "total_count", "affected_surfaces"),
    )
    return _render(
        error,
        selection,
        {
            "id": lambda e, s: e.fbid,
            "summary": lambda e, s: e.summary,
            "description": lambda e, s: e.description,
            "error_type": lambda e, s: e.error_type,
            "severity": lambda e, s: e.severity,
            "total_count": lambda e, s: e.total_count,
            "affected_surfaces": lambda e, s: e.affected_surfaces,
        },
    )


# --- product sets -------------------------------------------------------------------


def product_set_node(product_set: ProductSet, selection: Selection | None, count: Callable[[], int]) -> dict:
    selection = resolve(selection, "ProductSet", ("id", "name", "filter"))

    def metadata(p: ProductSet, spec: FieldSpec) -> dict:
        return {key: p.metadata[key] for key in ("cover_image_url", "description", "external_url") if key in p.metadata}

    return _render(
        product_set,
        selection,
        {
            "id": lambda p, s: p.fbid,
            "name": lambda p, s: p.name,
            "filter": lambda p, s: json.dumps(p.filter, separators=(",", ":")) if p.filter else None,
            "product_count": lambda p, s: count(),
            "retailer_id": lambda p, s: p.retailer_id or None,
            "latest_metadata": metadata,
            "live_metadata": lambda p, s: metadata(p, s) if p.is_live else None,
            "metadata": metadata,
            "ordering_info": lambda p, s: p.ordering_info or None,
            "publish_to_shops": lambda p, s: p.publish_to_shops or None,
            "product_catalog": lambda p, s: catalog_node(p.catalog, s.children),
        },
    )
