"""A paid Shopify order (the ``orders/paid`` webhook body) -> one Conversions API ``Purchase`` event.

Pure: no database, no network. The caller passes the retailer ids of the order's
variants (as the catalog knows them) and the store's facts.

* ``event_id`` is the Shopify order id as digits (``"5512345678901"``): what Liquid's
  ``{{ order.id }}`` and the customer-events API's ``checkout.order.id`` give a browser
  pixel, so a browser ``Purchase`` sent with that ``eventID`` is de-duplicated against ours
  (Meta de-duplicates on event_name + event_id).
* ``event_time`` is the order's ``processed_at`` (when it was paid), never in the future.
* ``action_source`` is ``website`` when the order carries the buyer's browser (Shopify's
  ``client_details.user_agent``; Meta requires the user agent for website events); an
  order without one (point of sale, draft order, app) is ``physical_store`` for
  ``source_name`` "pos" and ``system_generated`` otherwise.
* ``custom_data``: ``content_ids`` are the variants' retailer ids (the item ids our catalog
  holds), ``contents`` their quantity and unit price, ``value`` the order total, in the
  order's own currency (the shop's; prices and total are both in it, so Meta can convert
  an order in another currency than the catalog's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

from . import user_data

EVENT_NAME = "Purchase"
# Meta refuses events older than this (docs/graph-api.md §8; the sandbox does the same).
MAX_EVENT_AGE = timedelta(days=7)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class NotAnOrder(ValueError):
    """The payload cannot become an event (no order id, no time): nothing to send."""


@dataclass
class BuiltEvent:
    order_id: int
    order_name: str
    order_updated_at: datetime | None
    event_time: datetime
    value: Decimal | None
    currency: str
    payload: dict
    notes: list[str] = field(default_factory=list)

    @property
    def event_id(self) -> str:
        return self.payload["event_id"]

    @property
    def user_data_keys(self) -> list[str]:
        return sorted(self.payload.get("user_data") or {})


def order_id_of(payload: dict) -> int | None:
    """The order's numeric id (``id``, else the number in ``admin_graphql_api_id``)."""
    raw = payload.get("id")
    if isinstance(raw, int) and raw > 0:
        return raw
    text = str(raw or payload.get("admin_graphql_api_id") or "")
    match = re.search(r"(\d+)$", text)
    return int(match.group(1)) if match else None


def event_id_for(order_id: int) -> str:
    """The documented event_id of an order's Purchase: its Shopify order id as digits."""
    return str(order_id)


def _time(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(str(value))
    except ValueError:
        return None


def _money(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _number(amount: Decimal) -> float | int:
    """Meta's JSON numbers: an int when whole, else a float of the amount."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def build_user_data(payload: dict) -> dict:
    """The order's customer information, normalised and hashed (``conversions.user_data``)."""
    customer = _dict(payload.get("customer"))
    billing = _dict(payload.get("billing_address"))
    shipping = _dict(payload.get("shipping_address"))
    address = billing or shipping or _dict(customer.get("default_address"))
    country = str(address.get("country_code") or "")
    client = _dict(payload.get("client_details"))
    people = (customer, billing, shipping)
    values = {
        "em": [payload.get("email"), payload.get("contact_email"), customer.get("email")],
        "ph": [payload.get("phone"), customer.get("phone"), billing.get("phone"), shipping.get("phone")],
        "fn": [p.get("first_name") for p in people],
        "ln": [p.get("last_name") for p in people],
        "ct": [address.get("city")],
        "zp": [address.get("zip")],
        "country": [country],
        "external_id": [customer.get("id")],
    }
    return user_data.build(
        values,
        country=country,
        client_ip_address=str(client.get("browser_ip") or payload.get("browser_ip") or ""),
        client_user_agent=str(client.get("user_agent") or ""),
    )


def build_purchase(
    payload: dict,
    *,
    retailer_ids: dict[int, str],
    site_url: str,
    catalog_currency: str = "",
    now: datetime,
) -> BuiltEvent:
    """The Purchase event of a paid order; ``retailer_ids``: Shopify variant id -> catalog item id.

    A line whose variant the catalog does not know uses the variant id itself (our
    retailer-id scheme for every variant); a custom line (no variant) counts in
    ``num_items`` and ``value`` but names no content.
    """
    order_id = order_id_of(payload)
    if order_id is None:
        raise NotAnOrder("The order has no id.")
    processed = _time(payload.get("processed_at")) or _time(payload.get("created_at"))
    if processed is None:
        raise NotAnOrder("The order has neither processed_at nor created_at.")
    notes: list[str] = []
    event_time = min(processed, now)
    currency = str(payload.get("currency") or "").upper()
    if not _CURRENCY.match(currency):
        notes.append(f"The order's currency {currency or '(none)'} is not an ISO 4217 code: value left out.")
        currency = ""
    elif catalog_currency and currency != catalog_currency:
        notes.append(f"Order in {currency}, catalog prices in {catalog_currency}: sent in {currency} (Meta converts).")
    contents: dict[str, dict] = {}
    num_items = 0
    for line in payload.get("line_items") or []:
        if not isinstance(line, dict):
            continue
        try:
            quantity = max(int(line.get("quantity") or 0), 0)
        except (TypeError, ValueError):
            quantity = 0
        num_items += quantity
        variant_id = line.get("variant_id")
        if not isinstance(variant_id, int) or quantity == 0:
            continue
        content_id = retailer_ids.get(variant_id) or str(variant_id)
        price = _money(line.get("price"))
        if content_id in contents:
            contents[content_id]["quantity"] += quantity
            continue
        content = {"id": content_id, "quantity": quantity}
        if price is not None:
            content["item_price"] = _number(price)
        contents[content_id] = content
    total = _money(payload.get("total_price"))
    if total is None:
        total = _money(payload.get("current_total_price"))
    custom_data: dict = {
        "content_type": "product",
        "content_ids": list(contents),
        "contents": list(contents.values()),
        "order_id": str(order_id),
        "num_items": num_items,
    }
    if currency and total is not None:
        custom_data["value"] = _number(total)
        custom_data["currency"] = currency
    data = build_user_data(payload)
    client = _dict(payload.get("client_details"))
    if client.get("user_agent"):
        action_source = "website"
    elif str(payload.get("source_name") or "") == "pos":
        action_source = "physical_store"
    else:
        action_source = "system_generated"
    event: dict = {
        "event_name": EVENT_NAME,
        "event_time": int(event_time.timestamp()),
        "event_id": event_id_for(order_id),
        "action_source": action_source,
        "user_data": data,
        "custom_data": custom_data,
    }
    if action_source == "website" and site_url:
        # Where the purchase happened: the shop's storefront (the order status URL is a
        # secret link to the order, never sent).
        event["event_source_url"] = site_url
    return BuiltEvent(
        order_id=order_id,
        order_name=str(payload.get("name") or "")[:64],
        order_updated_at=_time(payload.get("updated_at")),
        event_time=event_time,
        value=total if currency else None,
        currency=currency,
        payload=event,
        notes=notes,
    )


def too_old(event_time: datetime, now: datetime) -> bool:
    """Meta refuses events older than seven days."""
    return event_time < now - MAX_EVENT_AGE
