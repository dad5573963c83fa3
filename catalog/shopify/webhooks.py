"""Shopify webhooks: verify, de-duplicate, store durably, answer fast; process in a task.

Receiving (the view, within Shopify's 5-second limit) only checks the HMAC over the raw
body, inserts one ``WebhookEvent`` row (unique per store and event id, so retries and
duplicate events are stored once) and makes sure a drain of the store is queued: one
Django-Q2 task per burst, not one per delivery (``WebhookDrain``). The drain applies the
store's events in arrival order, order-safely, through the same upsert the importer
uses; a periodic sweeper re-runs anything a lost task or a dead worker left behind.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog import item_state, timeline
from catalog.models import Catalog, ProductTombstone, ShopifyStore, Variant, VariantEvent, WebhookDrain, WebhookEvent
from catalog.sync import pause
from galantis.queue import enqueue

from . import collections as collection_sets
from . import signing_keys
from .client import ShopifyClient, gid_number
from .connect import UNINSTALLED_REASON
from .errors import ShopifyError
from .records import (
    ProductRecord,
    collection_from_graphql,
    collection_from_rest,
    product_from_graphql,
    product_from_rest,
)
from .upsert import chunked, mark_products_removed, newest_records, upsert_products

logger = logging.getLogger(__name__)

# Header names (case-insensitive in Django's request.headers).
TOPIC = "X-Shopify-Topic"
HMAC = "X-Shopify-Hmac-Sha256"
SHOP = "X-Shopify-Shop-Domain"
API_VERSION = "X-Shopify-API-Version"
WEBHOOK_ID = "X-Shopify-Webhook-Id"
EVENT_ID = "X-Shopify-Event-Id"
TRIGGERED_AT = "X-Shopify-Triggered-At"
KEPT_HEADERS = (TOPIC, SHOP, API_VERSION, WEBHOOK_ID, EVENT_ID, TRIGGERED_AT, "X-Shopify-Name", "X-Shopify-Sub-Topic")

# Topics stored for another consumer and not processed here (none today: ``orders/paid``
# is handed to the Conversions API by its handler below).
KEPT_TOPICS: dict[str, str] = {}
# A processing failure that may pass (Shopify unreachable) is retried this many times.
MAX_ATTEMPTS = 5
# The sweeper leaves fresh events to their queued task for this long.
SWEEP_GRACE = timedelta(minutes=1)
SWEEP_LIMIT = 500
# Events one drain task processes before it queues its successor (bounded tasks).
DRAIN_BATCH = 500
# Topics whose consecutive events a drain applies with one upsert (process_product_events).
BATCHED_TOPICS = frozenset({"products/create", "products/update"})
# A drain request older than this lost its task (the queue's retry is 12 minutes).
DRAIN_STALE = timedelta(minutes=15)
# Tombstones of products deleted before we stored them outlive any late delivery by far.
TOMBSTONE_DAYS = timedelta(days=7)


def verify_hmac(raw_body: bytes, header_value: str | None, secret: str) -> bool:
    """Shopify's signature: base64(HMAC-SHA256(secret, raw body)), compared in constant time."""
    if not header_value or not secret:
        return False
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    return hmac.compare_digest(expected, header_value.strip().encode("utf-8", errors="replace"))


@dataclass
class Reception:
    """What the view answers: an HTTP status, a short message, and the stored event's pk if any."""

    status: int
    message: str
    event_id: int | None = None


def receive(raw_body: bytes, headers: Mapping[str, str]) -> Reception:
    """Verify and store one delivery; make sure a drain will process it. Never calls Shopify.

    The hot path is two statements in autocommit: the event's ``INSERT ... ON CONFLICT DO
    NOTHING`` (durable before we answer 200; the unique constraint de-duplicates) and the
    drain request's (a task is queued only when no drain is pending). The store's key comes
    from a short-lived in-memory copy (``signing_keys``).
    """
    shop_domain = (headers.get(SHOP) or "").strip().lower()
    signature = headers.get(HMAC)
    if not signature or not shop_domain:
        return Reception(401, "Missing signature or shop domain.")
    key = _verified_key(raw_body, signature, shop_domain)
    if key is None:
        # Same answer for an unknown shop and a bad signature: nothing to learn from it.
        logger.warning("Rejected webhook for %r: bad signature or unknown shop", shop_domain[:100])
        return Reception(401, "Invalid signature.")
    topic = (headers.get(TOPIC) or "").strip().lower()[:100]
    if not topic:
        return Reception(400, "Missing X-Shopify-Topic.")
    event_id = (headers.get(EVENT_ID) or "").strip()[:100]
    webhook_id = (headers.get(WEBHOOK_ID) or "").strip()[:100]
    # Without ids (never from Shopify), identical bodies of one topic are the same event.
    dedup_key = event_id or webhook_id or "sha256:" + hashlib.sha256(topic.encode() + b"\n" + raw_body).hexdigest()[:64]

    state, note, status, message = WebhookEvent.State.RECEIVED, "", 200, "Queued."
    try:
        payload = json.loads(raw_body)
        if not isinstance(payload, dict):
            raise ValueError("the body is not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        state, note, status, message = WebhookEvent.State.FAILED, f"Malformed JSON: {exc}", 400, "Malformed JSON."
    else:
        if topic in KEPT_TOPICS:
            state, note, message = WebhookEvent.State.IGNORED, KEPT_TOPICS[topic], "Stored."
        elif topic not in HANDLERS:
            state, note, message = WebhookEvent.State.IGNORED, f"Unknown topic {topic!r}: recorded only.", "Recorded."
    fields = {
        "topic": topic,
        "event_id": event_id,
        "webhook_id": webhook_id,
        "dedup_key": dedup_key,
        "api_version": (headers.get(API_VERSION) or "")[:16],
        "triggered_at": _parse_time(headers.get(TRIGGERED_AT)),
        "body": raw_body,
        "headers": {name: headers[name][:500] for name in KEPT_HEADERS if headers.get(name)},
        "state": state,
        "error": note,
        "processed_at": timezone.now() if state != WebhookEvent.State.RECEIVED else None,
    }
    try:
        pk = WebhookEvent.objects.insert_new(WebhookEvent(tenant_id=key.tenant_id, store_id=key.store_id, **fields))
    except IntegrityError:
        # The kept key names a store deleted meanwhile (foreign key): look again, once.
        signing_keys.forget(shop_domain)
        key = _verified_key(raw_body, signature, shop_domain)
        if key is None:
            return Reception(401, "Invalid signature.")
        pk = WebhookEvent.objects.insert_new(WebhookEvent(tenant_id=key.tenant_id, store_id=key.store_id, **fields))
    if pk is None:
        return Reception(200, "Duplicate delivery; already stored.")
    if state == WebhookEvent.State.RECEIVED:
        request_drain(key.store_id, key.tenant_id)
    return Reception(status, message, pk)


def _verified_key(raw_body: bytes, signature: str, shop_domain: str) -> signing_keys.StoreKey | None:
    """The store key whose secret signed ``raw_body``; a kept secret that fails is re-read once."""
    key = signing_keys.lookup(shop_domain)
    if key is not None and verify_hmac(raw_body, signature, key.secret):
        return key
    if key is None:
        return None  # lookup() already read the database: the shop is unknown
    # Perhaps rotated since we kept it: the database decides.
    key = signing_keys.lookup(shop_domain, fresh=True)
    if key is not None and verify_hmac(raw_body, signature, key.secret):
        return key
    return None


def request_drain(store_id: int, tenant_id: int) -> bool:
    """Queue a drain of the store's received events unless one is pending; True if queued."""
    if not WebhookDrain.objects.request(store_id, tenant_id):
        return False
    enqueue("catalog.tasks.drain_shopify_webhooks", store_id, group=f"shopify-webhooks:{store_id}")
    return True


def enqueue_processing(event: WebhookEvent) -> None:
    """Queue the processing of one event (its store's drain)."""
    request_drain(event.store_id, event.tenant_id)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(value.strip())
    except ValueError:
        return None


# -- processing ---------------------------------------------------------------------------


class Ignored(Exception):
    """The event needs no change (older than stored data, unknown object): state IGNORED."""


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
        note = handler(_Context(event, payload, client)) or ""
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
        if record is None or _needs_admin_api(payload, record, known):
            outcomes.update(_apply_batch(store, batch, client))
            batch = []
            outcomes[event.pk] = _apply(event, client)
            continue
        record.observed_at = _Context(event, payload, client).event_time
        batch.append((event, record))
    outcomes.update(_apply_batch(store, batch, client))
    # One UPDATE per outcome, not per event: a batch's events share their notes (a
    # 500-row CASE bulk_update cost 15% of the drain's CPU).
    by_outcome: dict[tuple[str, str], list[int]] = {}
    for event in events:
        by_outcome.setdefault(outcomes[event.pk], []).append(event.pk)
    now = timezone.now()
    for (state, note), pks in by_outcome.items():
        WebhookEvent.objects.filter(pk__in=pks).update(
            state=state, error=note[:5000], processed_at=now if state != WebhookEvent.State.RECEIVED else None
        )
    return len(events)


def _apply_batch(
    store: ShopifyStore, batch: list[tuple[WebhookEvent, ProductRecord]], client: ShopifyClient | None
) -> dict[int, tuple[str, str]]:
    """Upsert the records of ``batch`` in one call; return each event's state and note."""
    if not batch:
        return {}
    try:
        with transaction.atomic():
            result = upsert_products(store, [record for _, record in batch], remove_missing_variants=True,
                                     source="webhook")
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
    # Consecutive product creates/updates go in one upsert; every other topic (a delete
    # among them) is applied alone at its place, so the arrival order still holds.
    run: list[int] = []
    for event_id, topic in ids:
        if topic in BATCHED_TOPICS:
            run.append(event_id)
            continue
        if run:
            process_product_events(store_id, run)
            run = []
        process_event(event_id)
    if run:
        process_product_events(store_id, run)
    if len(ids) == limit:
        tenant_id = ShopifyStore.objects.filter(pk=store_id).values_list("tenant_id", flat=True).first()
        if tenant_id is not None:
            request_drain(store_id, tenant_id)
    return len(ids)


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


class _Context:
    def __init__(self, event: WebhookEvent, payload: dict, client: ShopifyClient | None) -> None:
        self.event = event
        self.store = event.store
        self.payload = payload
        self._client = client

    @property
    def client(self) -> ShopifyClient:
        if self._client is None:
            self._client = ShopifyClient.for_store(self.store)
        return self._client

    @property
    def event_time(self) -> datetime:
        """When Shopify fired the event (retries keep it), else when we received it."""
        return self.event.triggered_at or self.event.received_at


def _needs_admin_api(payload: dict, record: ProductRecord, known: set[int]) -> bool:
    """True when the payload cannot be applied alone and the product must be read from Shopify.

    It lists fewer variants than the product has, or has new variants without the
    inventory tracking flag (2024-10+ payloads omit it, and "not tracked" means "in
    stock" for Meta). ``known``: the stored variant ids (among those listed).
    """
    listed = {v.shopify_variant_id for v in record.variants}
    all_ids = {
        gid_number(v.get("admin_graphql_api_id")) for v in payload.get("variant_gids") or [] if isinstance(v, dict)
    }
    all_ids.discard(None)
    untracked_unknown = any(v.inventory_tracked is None and v.shopify_variant_id not in known for v in record.variants)
    return bool(all_ids - listed) or untracked_unknown


def _products_upsert(ctx: _Context) -> str:
    record = product_from_rest(ctx.payload)
    if record is None:
        raise Ignored("No product id in the payload.")
    observed_at = ctx.event_time
    known = set(
        Variant.objects.for_tenant(ctx.store.tenant_id)
        .filter(shopify_variant_id__in=sorted({v.shopify_variant_id for v in record.variants}))
        .values_list("shopify_variant_id", flat=True)
    )
    if _needs_admin_api(ctx.payload, record, known):
        # Read the product from the Admin API.
        node = ctx.client.product(record.shopify_product_id)
        if node is None:
            raise Ignored("The product no longer exists in Shopify.")
        record = product_from_graphql(node)
        observed_at = timezone.now()
    result = upsert_products(ctx.store, [record], observed_at=observed_at, remove_missing_variants=True,
                             source="webhook")
    if result.products_stale:
        raise Ignored("Older than the stored product (updated_at); not applied.")
    if result.variants_created or result.variants_removed:
        collection_sets.refresh_filters_for_products(result.product_pks)
    return (
        f"product {record.shopify_product_id}: {result.variants_created} variants created, "
        f"{result.variants_updated} updated, {result.variants_removed} removed, "
        f"{result.variants_changed} changed for Meta"
    )


def _products_delete(ctx: _Context) -> str:
    product_id = ctx.payload.get("id")
    if not isinstance(product_id, int):
        product_id = gid_number(product_id)
    pks = list(ctx.store.products.filter(shopify_product_id=product_id).values_list("pk", flat=True))
    if not pks:
        if product_id is None:
            raise Ignored("No product id in the payload.")
        # Its create may still be on its way (no ordering guarantee): remember the delete.
        ProductTombstone.objects.update_or_create(
            store=ctx.store,
            shopify_product_id=product_id,
            defaults={"tenant_id": ctx.store.tenant_id, "deleted_at": ctx.event_time},
        )
        return f"product {product_id} not stored yet: tombstone kept so a late create does not revive it"
    products, variants = mark_products_removed(ctx.store, pks, ctx.event_time)
    collection_sets.refresh_filters_for_products(pks)
    if not products:
        raise Ignored(f"Product {product_id} was already removed.")
    return f"product {product_id} removed ({variants} variants)"


def _inventory_level(ctx: _Context) -> str:
    item_id = ctx.payload.get("inventory_item_id")
    variants = Variant.objects.for_tenant(ctx.store.tenant_id).filter(
        product__store=ctx.store, inventory_item_id=item_id
    )
    if not item_id or not variants.exists():
        raise Ignored(f"Inventory item {item_id} belongs to no known variant.")
    # `available` is one location's quantity; Meta needs the variant's total over all
    # locations, so read it (current, hence newer than anything stored).
    observed_at = timezone.now()
    item = ctx.client.inventory_item(item_id)
    if not item or not item.get("variant"):
        raise Ignored(f"Inventory item {item_id} no longer exists in Shopify.")
    return _apply_stock(variants, item, observed_at)


def _apply_stock(variants, item: dict, observed_at: datetime) -> str:
    from .records import quantity

    total = quantity(item["variant"].get("inventoryQuantity"))
    tracked = item.get("tracked")
    updates = {"inventory_quantity": total, "inventory_updated_at": observed_at, "updated_at": timezone.now()}
    if tracked is not None:
        updates["inventory_tracked"] = bool(tracked)
    with transaction.atomic():
        newer = variants.filter(Q(inventory_updated_at__isnull=True) | Q(inventory_updated_at__lte=observed_at))
        # Locked, so a concurrent drain's older stock waits and then re-reads the newer time
        # (PostgreSQL re-checks the filter on rows it waited for): never written last.
        pks = list(newer.select_for_update(of=("self",)).values_list("pk", flat=True))
        changed_stock = Variant.objects.filter(pk__in=pks).exclude(inventory_quantity=total)
        timeline.record_from(changed_stock, VariantEvent.Kind.SHOPIFY,
                             detail={"source": "webhook", "fields": ["inventory_quantity"]})
        Variant.objects.filter(pk__in=pks).update(**updates)
        changed = item_state.refresh_variants(Variant.objects.filter(pk__in=pks))
    return f"stock {total} on {len(pks)} variant(s), {changed} changed for Meta"


def _inventory_item(ctx: _Context) -> str:
    item_id = ctx.payload.get("id")
    if "tracked" not in ctx.payload:
        raise Ignored("No tracked flag in the payload.")
    variants = Variant.objects.for_tenant(ctx.store.tenant_id).filter(
        product__store=ctx.store, inventory_item_id=item_id
    )
    pks = list(variants.exclude(inventory_tracked=bool(ctx.payload["tracked"])).values_list("pk", flat=True))
    if not pks:
        raise Ignored(f"Inventory item {item_id}: nothing to change.")
    with transaction.atomic():
        timeline.record_from(Variant.objects.filter(pk__in=pks), VariantEvent.Kind.SHOPIFY,
                             detail={"source": "webhook", "fields": ["inventory_tracked"]})
        Variant.objects.filter(pk__in=pks).update(
            inventory_tracked=bool(ctx.payload["tracked"]), updated_at=timezone.now()
        )
        changed = item_state.refresh_variants(Variant.objects.filter(pk__in=pks))
    return f"tracked={bool(ctx.payload['tracked'])} on {len(pks)} variant(s), {changed} changed for Meta"


def _collection_upsert(ctx: _Context) -> str:
    record = collection_from_rest(ctx.payload)
    if record is None:
        raise Ignored("No collection id in the payload.")
    if collection_sets.store_catalog(ctx.store) is None:
        raise Ignored("The store has no catalog to hold product sets.")
    # Collection payloads carry no membership: read it (and the current title) from the API.
    node = ctx.client.collection(record.shopify_collection_id)
    if node is None:
        raise Ignored(f"Collection {record.shopify_collection_id} no longer exists in Shopify.")
    record = collection_from_graphql(node) or record
    members = list(ctx.client.iter_collection_product_ids(record.shopify_collection_id))
    product_set = collection_sets.upsert_collection(ctx.store, record, members)
    return f"product set {product_set.pk if product_set else '-'} with {len(members)} product(s)"


def _collection_delete(ctx: _Context) -> str:
    collection_id = ctx.payload.get("id")
    if not isinstance(collection_id, int):
        collection_id = gid_number(collection_id)
    if not collection_sets.mark_collections_removed(ctx.store, [collection_id], ctx.event_time):
        raise Ignored(f"Collection {collection_id} has no live product set.")
    return f"collection {collection_id} removed"


def _app_uninstalled(ctx: _Context) -> str:
    when = ctx.event_time
    ShopifyStore.objects.filter(pk=ctx.store.pk).update(uninstalled_at=when, updated_at=timezone.now())
    reason = (
        f"{UNINSTALLED_REASON} from {ctx.store.shop_domain} on {when:%Y-%m-%d %H:%M} UTC. "
        "Reinstall it and reconnect the store (connect_shopify) to resume syncing."
    )
    paused = 0
    for catalog in Catalog.objects.filter(store=ctx.store):
        # A pause of its own kind: the catalog stays switched on, and only a reconnect lifts it.
        pause.pause(catalog, Catalog.PauseKind.UNINSTALLED, reason)
        paused += 1
    return f"store marked uninstalled; {paused} catalog(s) paused"


def _shop_update(ctx: _Context) -> str:
    store = ctx.store
    values = {
        "name": str(ctx.payload.get("name") or store.name)[:255],
        "currency": str(ctx.payload.get("currency") or store.currency)[:3],
    }
    domain = ctx.payload.get("domain")
    if domain:
        values["primary_domain_url"] = f"https://{domain}"[:500]
    if all(getattr(store, k) == v for k, v in values.items()):
        raise Ignored("Nothing we use changed.")
    ShopifyStore.objects.filter(pk=store.pk).update(**values, updated_at=timezone.now())
    changed = item_state.refresh_variants(Variant.objects.filter(product__store=store))
    return f"shop updated; {changed} variant(s) changed for Meta"


def _order_paid(ctx: _Context) -> str:
    """Hand a paid order to the Conversions API app (one Purchase event per order)."""
    from conversions.orders import record_paid_order  # the app that owns the queue (imported late: no cycle)

    outcome = record_paid_order(ctx.store, ctx.payload, webhook_event_id=ctx.event.pk)
    if not outcome.queued:
        raise Ignored(outcome.note)
    return outcome.note


HANDLERS: dict[str, Callable[[_Context], str]] = {
    "products/create": _products_upsert,
    "products/update": _products_upsert,
    "products/delete": _products_delete,
    "inventory_levels/update": _inventory_level,
    "inventory_items/update": _inventory_item,
    "collections/create": _collection_upsert,
    "collections/update": _collection_upsert,
    "collections/delete": _collection_delete,
    "app/uninstalled": _app_uninstalled,
    "shop/update": _shop_update,
    "orders/paid": _order_paid,
}
