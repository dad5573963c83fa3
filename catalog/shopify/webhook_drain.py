"""Processing stored Shopify webhook events: one drain task per store and burst, and the sweeper.

The drain applies the store's events in arrival order, runs of product updates with one
upsert, each through its topic's handler (``catalog.shopify.webhook_handlers``); a bounded
drain queues its successor, and a periodic sweeper re-runs anything a lost task or a dead
worker left behind. A transient Shopify failure is retried ``MAX_ATTEMPTS`` times.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from catalog.models import ProductTombstone, ShopifyStore, Variant, WebhookDrain, WebhookEvent
from conversions.orders import record_paid_orders
from galantis.queue import enqueue

from . import collections as collection_sets
from .client import ShopifyClient
from .errors import ShopifyError
from .records import (
    ProductRecord,
    product_from_rest,
)
from .upsert import chunked, newest_records, upsert_products
from .webhook_handlers import HANDLERS, TOMBSTONE_DAYS, Context, Ignored, needs_admin_api

logger = logging.getLogger(__name__)


# A processing failure that may pass (Shopify unreachable) is retried this many times.
MAX_ATTEMPTS = 5


# The sweeper leaves fresh events to their queued task for this long.
SWEEP_GRACE = timedelta(minutes=1)


SWEEP_LIMIT = 500


# Events one drain task processes before it queues its successor (bounded tasks).
DRAIN_BATCH = 500


# Topics whose consecutive events a drain applies together (process_product_events: one upsert).
BATCHED_TOPICS = frozenset({"products/create", "products/update"})
# Paid orders: consecutive ones are one bulk record of their Purchase events (process_order_events).
ORDER_TOPICS = frozenset({"orders/paid"})


# A drain request older than this lost its task (the queue's retry is 12 minutes).
DRAIN_STALE = timedelta(minutes=15)


def request_drain(store_id: int, tenant_id: int) -> bool:
    """Queue a drain of the store's received events unless one is pending; True if queued."""
    if not WebhookDrain.objects.request(store_id, tenant_id):
        return False
    enqueue("catalog.tasks.drain_shopify_webhooks", store_id, group=f"shopify-webhooks:{store_id}")
    return True


def enqueue_processing(event: WebhookEvent) -> None:
    """Queue the processing of one event (its store's drain)."""
    request_drain(event.store_id, event.tenant_id)


def claim(event_id: int) -> bool:
    """Take the event for processing unless done or held by a live worker (``WebhookEvent.objects.claim``)."""
    return bool(WebhookEvent.objects.claim([event_id]))


def process_event(event_id: int, *, client: ShopifyClient | None = None) -> str | None:
    """Apply one stored event; return its final state (None if another worker has it)."""
    if not claim(event_id):
        return None
    event = WebhookEvent.objects.select_related("store").get(pk=event_id)
    state, note = _apply(event, client)
    WebhookEvent.objects.filter(pk=event.pk).update(
        state=state,
        error=note[:5000],
        processed_at=timezone.now() if state != WebhookEvent.State.RECEIVED else None,
    )
    return state


def _apply(event: WebhookEvent, client: ShopifyClient | None = None) -> tuple[str, str]:
    """Run the handler of one claimed event; return its final state and note (never raises)."""
    state, note = WebhookEvent.State.PROCESSED, ""
    try:
        payload = json.loads(bytes(event.body))
        handler = HANDLERS.get(event.topic)
        if handler is None:
            raise Ignored(f"Unknown topic {event.topic!r}: recorded only.")
        note = handler(Context(event, payload, client)) or ""
    except Ignored as exc:
        state, note = WebhookEvent.State.IGNORED, str(exc)
    except ShopifyError as exc:
        if exc.is_transient and event.attempts < MAX_ATTEMPTS:
            # Back to the sweeper's queue: Shopify may answer next time.
            state, note = WebhookEvent.State.RECEIVED, f"Attempt {event.attempts} failed, will retry: {exc}"
        else:
            state, note = WebhookEvent.State.FAILED, f"Shopify error: {exc}"
    except Exception as exc:  # noqa: BLE001 - any bug must leave the event FAILED and inspectable
        logger.exception("Webhook event %s (%s) failed", event.pk, event.topic)
        state, note = WebhookEvent.State.FAILED, f"{exc.__class__.__name__}: {exc}"
    return state, note


def process_product_events(store_id: int, event_ids: list[int], *, client: ShopifyClient | None = None) -> int:
    """Apply a run of one store's ``products/create|update`` events with one upsert; return how many were taken.

    Per event, ``_products_upsert`` costs ~21 statements; a batch costs about as many in
    all. Each record keeps its event's trigger time (``ProductRecord.observed_at``), so
    stock levels and equal ``updated_at`` are ordered as one-by-one processing orders
    them; of several events of one product the newest is applied, the others end
    IGNORED. An event that needs the Admin API (incomplete payload) or does not parse is
    a boundary: the batch so far is applied, then that event alone, as before. A batch
    whose upsert raises is applied again one event at a time, so a bad payload fails
    only its own event. The caller passes a run without deletes in it (deletes order
    against updates by position).
    """
    taken = WebhookEvent.objects.claim(event_ids)
    if not taken:
        return 0
    store = ShopifyStore.objects.get(pk=store_id)
    events = list(WebhookEvent.objects.filter(pk__in=taken, store_id=store_id).order_by("pk"))
    parsed: list[tuple[WebhookEvent, dict | None, ProductRecord | None]] = []
    for event in events:
        event.store = store
        try:
            payload = json.loads(bytes(event.body))
            record = product_from_rest(payload) if isinstance(payload, dict) else None
        except Exception:  # noqa: BLE001 - _apply() records why, as for a single event
            payload, record = None, None
        parsed.append((event, payload, record))
    # Ids no bigint column holds cannot be stored (their batch fails, then their event alone).
    listed = sorted(
        {
            v.shopify_variant_id
            for _, _, record in parsed
            if record is not None
            for v in record.variants
            if 0 < v.shopify_variant_id < 2**63
        }
    )
    known: set[int] = set()
    for ids in chunked(listed):
        known.update(
            Variant.objects.for_tenant(store.tenant_id)
            .filter(shopify_variant_id__in=ids)
            .values_list("shopify_variant_id", flat=True)
        )
    outcomes: dict[int, tuple[str, str]] = {}
    batch: list[tuple[WebhookEvent, ProductRecord]] = []
    for event, payload, record in parsed:
        if record is None or needs_admin_api(payload, record, known):
            outcomes.update(_apply_batch(store, batch, client))
            batch = []
            outcomes[event.pk] = _apply(event, client)
            continue
        record.observed_at = Context(event, payload, client).event_time
        batch.append((event, record))
    outcomes.update(_apply_batch(store, batch, client))
    _write_outcomes(events, outcomes)
    return len(events)


def _write_outcomes(events: list[WebhookEvent], outcomes: dict[int, tuple[str, str]]) -> None:
    """Each event's final state and note: one UPDATE per distinct outcome, not per event.

    A batch's events share their notes (a 500-row CASE ``bulk_update`` cost 15% of the
    drain's CPU).
    """
    by_outcome: dict[tuple[str, str], list[int]] = {}
    for event in events:
        by_outcome.setdefault(outcomes[event.pk], []).append(event.pk)
    now = timezone.now()
    for (state, note), pks in by_outcome.items():
        WebhookEvent.objects.filter(pk__in=pks).update(
            state=state, error=note[:5000], processed_at=now if state != WebhookEvent.State.RECEIVED else None
        )


def process_order_events(store_id: int, event_ids: list[int], *, client: ShopifyClient | None = None) -> int:
    """Apply a run of one store's ``orders/paid`` events with one bulk record; return how many were taken.

    ``conversions.orders.record_paid_orders`` queues their Purchase events with a constant
    number of statements and one send task for the run (one at a time, a paid order cost
    about fourteen statements and a task). A body that does not parse is applied alone,
    as before; a run whose record raises is applied again one event at a time, so a bad
    order fails only its own event.
    """
    taken = WebhookEvent.objects.claim(event_ids)
    if not taken:
        return 0
    store = ShopifyStore.objects.get(pk=store_id)
    events = list(WebhookEvent.objects.filter(pk__in=taken, store_id=store_id).order_by("pk"))
    outcomes: dict[int, tuple[str, str]] = {}
    run: list[tuple[WebhookEvent, dict]] = []
    for event in events:
        event.store = store
        try:
            payload = json.loads(bytes(event.body))
        except Exception:  # noqa: BLE001 - _apply() records why, as for a single event
            payload = None
        if isinstance(payload, dict):
            run.append((event, payload))
        else:
            outcomes[event.pk] = _apply(event, client)
    try:
        recorded = record_paid_orders(store, [(event.pk, payload) for event, payload in run])
    except Exception:  # noqa: BLE001 - rolled back: find the event at fault one by one
        logger.warning("A batch of %d paid orders failed; applying them one by one", len(run), exc_info=True)
        outcomes.update({event.pk: _apply(event, client) for event, _ in run})
    else:
        for (event, _), outcome in zip(run, recorded, strict=True):
            state = WebhookEvent.State.PROCESSED if outcome.queued else WebhookEvent.State.IGNORED
            outcomes[event.pk] = (state, outcome.note)
    _write_outcomes(events, outcomes)
    return len(events)


def _apply_batch(
    store: ShopifyStore, batch: list[tuple[WebhookEvent, ProductRecord]], client: ShopifyClient | None
) -> dict[int, tuple[str, str]]:
    """Upsert the records of ``batch`` in one call; return each event's state and note."""
    if not batch:
        return {}
    try:
        with transaction.atomic():
            result = upsert_products(
                store, [record for _, record in batch], remove_missing_variants=True, source="webhook"
            )
            if result.variants_created or result.variants_removed:
                collection_sets.refresh_filters_for_products(result.product_pks)
    except Exception:  # noqa: BLE001 - rolled back: find the event at fault one by one
        logger.warning("A batch of %d product webhooks failed; applying them one by one", len(batch), exc_info=True)
        return {event.pk: _apply(event, client) for event, _ in batch}
    newest = newest_records([record for _, record in batch])
    stale = set(result.stale_product_ids)
    applied = (
        f"Applied with its batch of {len(batch)} product event(s), which together created "
        f"{result.variants_created} variants, updated {result.variants_updated}, removed "
        f"{result.variants_removed}, changed {result.variants_changed} for Meta."
    )
    outcomes = {}
    for event, record in batch:
        product_id = record.shopify_product_id
        if newest[product_id] is not record:
            outcomes[event.pk] = (
                WebhookEvent.State.IGNORED,
                "Superseded by a newer event of the same product in its batch; not applied.",
            )
        elif product_id in stale:
            outcomes[event.pk] = (
                WebhookEvent.State.IGNORED,
                "Older than the stored product (updated_at); not applied.",
            )
        else:
            outcomes[event.pk] = (WebhookEvent.State.PROCESSED, applied)
    return outcomes


def drain(store_id: int, limit: int = DRAIN_BATCH) -> int:
    """Process up to ``limit`` of the store's waiting events in arrival order; return how many.

    The drain request is deleted *first*: a delivery stored after the read below then
    finds no request and queues the next drain, so none waits for the sweeper. A full
    batch queues its own successor (bounded tasks, as every task here).
    """
    WebhookDrain.objects.filter(store_id=store_id).delete()
    ids = list(WebhookEvent.objects.waiting(store_id).values_list("pk", "topic")[:limit])
    # Consecutive product creates/updates go in one upsert, consecutive paid orders in one
    # record; every other topic (a delete among them) is applied alone at its place, so
    # the arrival order still holds.
    run: list[int] = []
    runner = None
    for event_id, topic in ids:
        taker = _run_taker(topic)
        if run and taker is not runner:
            runner(store_id, run)
            run = []
        runner = taker
        if taker is None:
            process_event(event_id)
        else:
            run.append(event_id)
    if run:
        runner(store_id, run)
    if len(ids) == limit:
        tenant_id = ShopifyStore.objects.filter(pk=store_id).values_list("tenant_id", flat=True).first()
        if tenant_id is not None:
            request_drain(store_id, tenant_id)
    return len(ids)


def _run_taker(topic: str):
    """The function that applies a run of consecutive events of ``topic`` together, or None."""
    if topic in BATCHED_TOPICS:
        return process_product_events
    if topic in ORDER_TOPICS:
        return process_order_events
    return None


def reprocess(events) -> int:
    """Put events back in the queue (admin "reprocess" action); return how many were queued."""
    pks = list(events.values_list("pk", flat=True))
    # A fresh start: the drain takes never-attempted events only.
    WebhookEvent.objects.filter(pk__in=pks).update(
        state=WebhookEvent.State.RECEIVED, claimed_at=None, error="", attempts=0
    )
    stores = WebhookEvent.objects.filter(pk__in=pks).values_list("store_id", "tenant_id").distinct()
    for store_id, tenant_id in stores:
        request_drain(store_id, tenant_id)
    return len(pks)


def sweep(limit: int = SWEEP_LIMIT) -> int:
    """Process events no task picked up (lost enqueue, dead worker); return how many were tried."""
    # A request older than this lost its task (a drain deletes it when it starts): drop it
    # so the next delivery queues a drain again.
    WebhookDrain.objects.filter(requested_at__lt=timezone.now() - DRAIN_STALE).delete()
    ids = list(
        WebhookEvent.objects.unprocessed(older_than=SWEEP_GRACE).order_by("pk").values_list("pk", flat=True)[:limit]
    )
    for event_id in ids:
        process_event(event_id)
    ProductTombstone.objects.filter(deleted_at__lt=timezone.now() - TOMBSTONE_DAYS).delete()
    return len(ids)
