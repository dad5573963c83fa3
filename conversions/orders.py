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
from galantis.chunks import in_chunks
from galantis.queue import enqueue

from . import events
from .models import ConversionEvent, ConversionsSettings

logger = logging.getLogger(__name__)

# Shopify variant ids per IN (...) lookup, events per INSERT, bodies per redacting UPDATE.
LOOKUP_CHUNK = 900
INSERT_BATCH = 500
REDACT_BATCH = 100

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


def _variant_ids(payload: dict) -> set[int]:
    return {
        line["variant_id"]
        for line in payload.get("line_items") or []
        if isinstance(line, dict) and isinstance(line.get("variant_id"), int) and 0 < line["variant_id"] < 2**63
    }


def _retailer_ids(tenant_id: int, payloads: list[dict]) -> dict[int, str]:
    """The Meta ids of the orders' variants, by Shopify variant id (one query per 900 variants)."""
    found: dict[int, str] = {}
    for ids in in_chunks(sorted(set().union(*(_variant_ids(p) for p in payloads))), LOOKUP_CHUNK):
        rows = (
            Variant.objects.for_tenant(tenant_id)
            .filter(shopify_variant_id__in=ids)
            .values_list("shopify_variant_id", "meta_retailer_id", "retailer_id")
        )
        # A linked catalog's item may carry another tool's id: content_ids must name the item Meta holds.
        found.update((variant_id, meta_id or retailer_id) for variant_id, meta_id, retailer_id in rows)
    return found


def record_paid_order(store: ShopifyStore, payload: dict, *, webhook_event_id: int | None = None) -> Outcome:
    """Queue the Purchase event of a paid order (once per order); redact the stored delivery.

    A run of one (:func:`_record_many`). A concurrent delivery of the same order that
    inserted first makes the insert fail; looked at again, the order is a repeat.
    """
    try:
        try:
            with transaction.atomic():
                return _record_many(store, [payload], [webhook_event_id])[0]
        except IntegrityError:
            with transaction.atomic():
                return _record_many(store, [payload], [webhook_event_id])[0]
    finally:
        redact_delivery(webhook_event_id, payload)


def record_paid_orders(store: ShopifyStore, deliveries: list[tuple[int | None, dict]]) -> list[Outcome]:
    """:func:`record_paid_order` for a run of the store's deliveries ``(webhook event id, payload)``, in bulk.

    The webhook drain's path for a burst of paid orders: the settings, the catalog, the
    orders' variants and the events already queued are each read once for the run, the
    new events inserted together and one send task queued, instead of about fourteen
    statements and a task per order. Outcomes come in the order of ``deliveries``; the
    same order twice in one run is queued once, as one at a time would. Atomic: if it
    raises nothing was queued, and the stored deliveries are left as they were (the
    caller applies them one by one), else they are redacted.
    """
    if not deliveries:
        return []
    with transaction.atomic():
        outcomes = _record_many(store, [payload for _, payload in deliveries], [wid for wid, _ in deliveries])
    redacted = [
        WebhookEvent(pk=wid, body=json.dumps(redacted_order(payload), separators=(",", ":")).encode())
        for wid, payload in deliveries
        if wid is not None
    ]
    WebhookEvent.objects.bulk_update(redacted, ["body"], batch_size=REDACT_BATCH)
    return outcomes


def _record_many(store: ShopifyStore, payloads: list[dict], webhook_event_ids: list[int | None]) -> list[Outcome]:
    if not settings_for(store.tenant_id).enabled:
        return [Outcome(False, "The Conversions API is turned off for this tenant: no event.") for _ in payloads]
    catalog = Catalog.objects.filter(store=store).first()
    if catalog is None:
        return [Outcome(False, "The store has no Meta catalog, hence no pixel: no event.") for _ in payloads]
    now = timezone.now()
    retailer_ids = _retailer_ids(store.tenant_id, payloads)
    outcomes: list[Outcome | None] = [None] * len(payloads)
    built_events: list[tuple[int, events.BuiltEvent]] = []
    for position, payload in enumerate(payloads):
        try:
            built_events.append((position, _build(store, payload, retailer_ids, now)))
        except events.NotAnOrder as exc:
            outcomes[position] = Outcome(False, f"Not a usable order: {exc}")
    existing = {
        (row.event_name, row.event_id): row
        for row in ConversionEvent.objects.for_tenant(store.tenant_id).filter(
            event_id__in=sorted({built.event_id for _, built in built_events})
        )
    }
    rows: list[tuple[int, ConversionEvent, str]] = []
    later: list[tuple[int, events.BuiltEvent]] = []  # an order already queued, or twice in this run
    queued: set[tuple[str, str]] = set()
    for position, built in built_events:
        key = (built.payload["event_name"], built.event_id)
        if key in existing or key in queued:
            later.append((position, built))
            continue
        queued.add(key)
        row, dead_reason = _new_event(store, catalog, built, webhook_event_ids[position], now)
        rows.append((position, row, dead_reason))
    ConversionEvent.objects.bulk_create([row for _, row, _ in rows], batch_size=INSERT_BATCH)
    for position, row, dead_reason in rows:
        outcomes[position] = _queued_outcome(row, dead_reason)
    for position, built in later:
        # Rare: a redelivery. The row it repeats is read as it is now (perhaps inserted just above).
        current = ConversionEvent.objects.for_tenant(store.tenant_id).get(
            event_name=built.payload["event_name"], event_id=built.event_id
        )
        outcomes[position] = _repeat(current, built)
    if any(outcome.queued for outcome in outcomes if outcome is not None):
        enqueue("conversions.tasks.send_catalog_events", catalog.pk, group=f"conversions:{catalog.pk}")
        logger.info("Queued %d Purchase events for catalog %s", len(rows), catalog.pk)
    return outcomes


def _build(store: ShopifyStore, payload: dict, retailer_ids: dict[int, str], now) -> events.BuiltEvent:
    return events.build_purchase(
        payload,
        retailer_ids=retailer_ids,
        site_url=store.primary_domain_url or f"https://{store.shop_domain}",
        catalog_currency=store.currency,
        now=now,
    )


def _new_event(
    store: ShopifyStore, catalog: Catalog, built: events.BuiltEvent, webhook_event_id: int | None, now
) -> tuple[ConversionEvent, str]:
    """The queued event of a paid order (unsaved), and why Meta would refuse it ("" if sendable)."""
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
    return row, dead_reason


def _queued_outcome(row: ConversionEvent, dead_reason: str) -> Outcome:
    if dead_reason:
        return Outcome(False, f"Purchase {row.event_id} not sendable: {dead_reason}", row)
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
