"""Paid orders in: an ``orders/paid`` webhook becomes one queued Purchase event.

Called by the Shopify webhook drain (``catalog.shopify.webhooks``, topic handler of
``orders/paid``) with the stored delivery's payload. Idempotent: the event's id comes
from the order, and the queue holds one row per (tenant, event name, event id), so a
redelivered webhook, or ``orders/paid`` fired again for the same order, queues nothing
new. While an event still waits, a delivery of a newer version of the order (its
``updated_at``) replaces what will be sent; an older one arriving late changes nothing.

The delivery's stored body holds the buyer's raw e-mail, phone, names and addresses:
once the order is handled it is cut down to the order's non-personal fields
(:func:`redacted_order`), so raw personal data lives no longer than the drain takes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Catalog, ShopifyStore, Variant, WebhookEvent
from galantis.queue import enqueue

from . import events
from .models import ConversionEvent, ConversionsSettings

logger = logging.getLogger(__name__)

# What a handled orders/paid body keeps: nothing that names or locates the buyer.
KEPT_ORDER_FIELDS = (
    "id",
    "admin_graphql_api_id",
    "name",
    "order_number",
    "number",
    "currency",
    "presentment_currency",
    "total_price",
    "subtotal_price",
    "current_total_price",
    "total_tax",
    "financial_status",
    "processed_at",
    "created_at",
    "updated_at",
    "source_name",
    "test",
)
KEPT_LINE_FIELDS = ("id", "product_id", "variant_id", "sku", "title", "variant_title", "quantity", "price")


@dataclass
class Outcome:
    """What became of one paid order: ``queued`` False means nothing (new) will be sent."""

    queued: bool
    note: str
    event: ConversionEvent | None = None


def settings_for(tenant_id: int) -> ConversionsSettings:
    """The tenant's settings row (created with the defaults on first use)."""
    found = ConversionsSettings.objects.filter(tenant_id=tenant_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return ConversionsSettings.objects.create(tenant_id=tenant_id)
    except IntegrityError:  # created meanwhile by another worker
        return ConversionsSettings.objects.get(tenant_id=tenant_id)


def redacted_order(payload: dict) -> dict:
    """The order without personal data (buyer, addresses, contact, browser, notes)."""
    kept = {key: payload[key] for key in KEPT_ORDER_FIELDS if key in payload}
    kept["line_items"] = [
        {key: line[key] for key in KEPT_LINE_FIELDS if key in line}
        for line in payload.get("line_items") or []
        if isinstance(line, dict)
    ]
    kept["_redacted"] = "Personal data removed once the Conversions API event was built."
    return kept


def redact_delivery(webhook_event_id: int | None, payload: dict) -> None:
    """Replace the stored delivery's body by :func:`redacted_order` of it."""
    if webhook_event_id is None:
        return
    body = json.dumps(redacted_order(payload), separators=(",", ":")).encode()
    WebhookEvent.objects.filter(pk=webhook_event_id).update(body=body)


def _retailer_ids(tenant_id: int, payload: dict) -> dict[int, str]:
    ids = sorted(
        {
            line["variant_id"]
            for line in payload.get("line_items") or []
            if isinstance(line, dict) and isinstance(line.get("variant_id"), int) and 0 < line["variant_id"] < 2**63
        }
    )
    rows = (
        Variant.objects.for_tenant(tenant_id)
        .filter(shopify_variant_id__in=ids)
        .values_list("shopify_variant_id", "meta_retailer_id", "retailer_id")
    )
    # A linked catalog's item may carry another tool's id: content_ids must name the item Meta holds.
    return {variant_id: meta_id or retailer_id for variant_id, meta_id, retailer_id in rows}


def record_paid_order(store: ShopifyStore, payload: dict, *, webhook_event_id: int | None = None) -> Outcome:
    """Queue the Purchase event of a paid order (once per order); redact the stored delivery."""
    try:
        return _record(store, payload, webhook_event_id)
    finally:
        redact_delivery(webhook_event_id, payload)


def _record(store: ShopifyStore, payload: dict, webhook_event_id: int | None) -> Outcome:
    if not settings_for(store.tenant_id).enabled:
        return Outcome(False, "The Conversions API is turned off for this tenant: no event.")
    catalog = Catalog.objects.filter(store=store).first()
    if catalog is None:
        return Outcome(False, "The store has no Meta catalog, hence no pixel: no event.")
    now = timezone.now()
    try:
        built = events.build_purchase(
            payload,
            retailer_ids=_retailer_ids(store.tenant_id, payload),
            site_url=store.primary_domain_url or f"https://{store.shop_domain}",
            catalog_currency=store.currency,
            now=now,
        )
    except events.NotAnOrder as exc:
        return Outcome(False, f"Not a usable order: {exc}")
    existing = (
        ConversionEvent.objects.for_tenant(store.tenant_id)
        .filter(event_name=built.payload["event_name"], event_id=built.event_id)
        .first()
    )
    if existing is not None:
        return _repeat(existing, built)
    row = ConversionEvent(
        tenant_id=store.tenant_id,
        store=store,
        catalog=catalog,
        webhook_event_id=webhook_event_id,
        shopify_order_id=built.order_id,
        order_name=built.order_name,
        event_name=built.payload["event_name"],
        event_id=built.event_id,
        event_time=built.event_time,
        next_attempt_at=now,
        **_order_version_fields(built),
    )
    dead_reason = _unsendable(built, now)
    if dead_reason:
        # Kept (visible among the dead letters) without the personal data it cannot use.
        row.state, row.last_error, row.last_error_code = ConversionEvent.State.DEAD, dead_reason, "local"
        row.payload = {**built.payload, "user_data": {}}
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # the same order queued by a concurrent delivery
        existing = ConversionEvent.objects.for_tenant(store.tenant_id).get(
            event_name=row.event_name, event_id=row.event_id
        )
        return _repeat(existing, built)
    if dead_reason:
        return Outcome(False, f"Purchase {row.event_id} not sendable: {dead_reason}", row)
    enqueue("conversions.tasks.send_catalog_events", catalog.pk, group=f"conversions:{catalog.pk}")
    logger.info("Queued Purchase %s for catalog %s", row.event_id, catalog.pk)
    return Outcome(True, f"Purchase {row.event_id} queued for the Conversions API.", row)


def _order_version_fields(built: events.BuiltEvent) -> dict:
    """What one version of the order sets on its event: a newer version of a queued event replaces them."""
    return {
        "order_updated_at": built.order_updated_at,
        "value": built.value,
        "currency": built.currency,
        "payload": built.payload,
        "user_data_keys": built.user_data_keys,
        "note": " ".join(built.notes),
    }


def _unsendable(built: events.BuiltEvent, now) -> str:
    """Why Meta would refuse the event whatever we did, or ""."""
    if events.too_old(built.event_time, now):
        return "The order was paid more than 7 days ago: Meta refuses events that old."
    if not built.payload["user_data"]:
        return "The order has no customer information at all (no e-mail, phone, name, address or browser)."
    return ""


def _repeat(existing: ConversionEvent, built: events.BuiltEvent) -> Outcome:
    """A second delivery of an order already queued: newer data replaces what still waits; else nothing."""
    newer = built.order_updated_at is not None and (
        existing.order_updated_at is None or built.order_updated_at > existing.order_updated_at
    )
    if newer and existing.state == ConversionEvent.State.QUEUED:
        # Conditional on the version read: of two racing deliveries only one replaces it.
        same_version = (
            Q(order_updated_at__isnull=True)
            if existing.order_updated_at is None
            else Q(order_updated_at=existing.order_updated_at)
        )
        updated = ConversionEvent.objects.filter(
            same_version, pk=existing.pk, state=ConversionEvent.State.QUEUED
        ).update(updated_at=timezone.now(), **_order_version_fields(built))
        if updated:
            return Outcome(False, f"Purchase {existing.event_id} still queued: updated to the newer order version.")
    return Outcome(
        False, f"Purchase {existing.event_id} already {existing.get_state_display().lower()}: nothing new sent."
    )
