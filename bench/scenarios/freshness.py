"""``freshness``: how long a Shopify price or stock change takes to reach Meta, with the task cluster running.

The catalog is a sandbox Shopify shop of N variants, imported and fully synced to the
sandbox Meta catalog before the clock starts. Then changes are made in the sandbox shop
through its own API (``sandbox.shopify.changes``: ``update_variants`` for a price,
``set_inventory`` for stock), and the signed webhooks Shopify fires for them
(``products/update``, ``inventory_levels/update``) are delivered over HTTP to the app: a
steady stream of a few changes per second, and bursts of ``--samples`` (default 2,000)
price changes delivered by 16 concurrent senders. A real ``manage.py qcluster`` (ORM
broker, or Redis with ``--broker redis``) runs everything else: the webhook drain, push on
change, the follow-up polls and the minute schedules (the replace-feed schedule aside:
the catalog's hourly snapshot is not what is measured).

Per variant change: receipt (``WebhookEvent.received_at`` of the first of its webhooks)
to the ``items_batch`` call that carried the new value (the sandbox's ``ItemsBatch``
row, read back from its requests; a value superseded by a later change of the same
variant counts when the later one is sent) and to our confirmation (``SyncBatch.finished_at``
of that call). Lost: at the end, variants whose item in the sandbox Meta catalog does not
show the sandbox shop's current price and stock (must be 0). Calls: ``items_batch`` calls
the run made, this clock hour's total against ``SYNC_BATCH_CALLS_PER_HOUR``.

The baseline is the plugin's way: one ``items_batch`` call per changed variant; the ratio
is variant changes per call, ours over its one.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from ..report import Target
from ..seed import connect_meta, point_store_at_server
from .common import bench_catalog, percentile
from .sync_common import send_by_replace_feed

SEED_KIND = "shop"
# Meta's API on a server of its own (bench.cli.meta_server_of): a burst's webhooks fill the
# application server's threads, and Meta's items_batch endpoint is not queued behind them.
META_SERVER = "separate"
SCALES_WITH_CATALOG = False
DEFAULT_BURST = 2000
STREAM_PER_SECOND = 3.0
SENDERS = 16
# The hourly Batch API budget the run works within: Meta's formula for a business with
# four users (200 + 200 * log2(4)); FRESHNESS_CALLS_PER_HOUR sets another.
CALLS_PER_HOUR = int(os.environ.get("FRESHNESS_CALLS_PER_HOUR", "600"))
SETTLE_TIMEOUT = float(os.environ.get("FRESHNESS_SETTLE_TIMEOUT", "600"))
# The clock starts once the 1-minute load average is at most this (0: at once). A 1M run's
# import and first replace feed take ~15 minutes that need no quiet machine; its measured
# minutes do. Waits an hour at most.
QUIET_LOAD = float(os.environ.get("FRESHNESS_QUIET_LOAD", "0") or 0)
# A JSON file of the run's calls, webhooks and changes with their times, to read where a
# change waited (receipt -> processed is the drain's lag).
TIMELINE_FILE = os.environ.get("FRESHNESS_TIMELINE", "")
# What the cluster (and the server and this process) run with.
ENV = {
    "Q_WORKERS": "4",  # a drain, a waiting push, a confirmation follower and one spare
    "SYNC_BATCH_CALLS_PER_HOUR": str(CALLS_PER_HOUR),
    "SANDBOX_SHOPIFY_WEBHOOK_RETRY_BASE_SECONDS": "0",
    # The sandbox keeps every request line of a call (20 by default): which call carried each change.
    "SANDBOX_BATCH_REQUESTS_KEPT": "5000",
}
TARGETS = [
    Target("sent_p95_seconds", "<=", 10, note="receipt -> items_batch sent, p95"),
    Target("confirmed_p95_seconds", "<=", 30, note="receipt -> confirmed, p95 (sandbox batch delay zero)"),
    Target("lost", "<=", 0, note="changes not in Meta at the end"),
    Target("calls_over_budget", "<=", 0, note="items_batch calls this hour above SYNC_BATCH_CALLS_PER_HOUR"),
]


@dataclass
class Change:
    """One variant's new value, and the webhooks that announced it."""

    retailer_id: str
    kind: str  # "price" or "quantity"
    value: object  # the price as Meta shows it ("12.34 USD"), or the quantity
    webhook_ids: list[str] = field(default_factory=list)
    receipt: datetime | None = None
    sent: datetime | None = None
    confirmed: datetime | None = None
    by_feed: bool = False


def prepare(ctx) -> dict:
    from sandbox.shopify.models import Shop, WebhookSubscription
    from sandbox.shopify.topics import ENUM_FOR_HEADER

    point_store_at_server(ctx.site_url)
    connect_meta()
    store = bench_catalog().store
    shop = Shop.objects.get(domain=store.shop_domain)
    # Deliveries are held and sent by this bench (16 at once for a burst), as Shopify sends in parallel.
    Shop.objects.filter(pk=shop.pk).update(webhook_mode=Shop.WebhookMode.HELD)
    for n, topic in enumerate(("products/update", "inventory_levels/update"), start=1):
        WebhookSubscription.objects.update_or_create(
            shop=shop,
            topic=ENUM_FOR_HEADER[topic],
            callback_url=f"{ctx.site_url}/shopify/webhooks/",
            defaults={"legacy_id": 9_000_000 + n, "api_version": "2025-10"},
        )
    from catalog.models import Catalog
    from catalog.sync import sharding

    # The shard count its size needs (1 to 500,000 items, 2 at 1,000,000), as the sweeper set it long
    # before in production; otherwise the catalog re-shards during the measured run, and a drain holds
    # every push until the jobs in flight end. --shards sets another.
    shards = ctx.shards or sharding.shards_for(ctx.variants, 0, 1)
    Catalog.objects.filter(pk=bench_catalog().pk).update(shard_count=shards)
    return {"shop_id": shop.pk}


# -- the catalog before the clock starts -------------------------------------------------------------


def import_and_sync(ctx) -> dict:
    """Import the shop and send the catalog to the sandbox by its replace feed (not measured).

    As in production, the catalog has had its hourly snapshot: items new to Meta go by feed
    (catalog.sync.creation), and a replace feed due now would hold each shard for its upload.
    """
    from catalog.shopify.importer import import_store

    catalog = bench_catalog()
    started = time.perf_counter()
    imported = import_store(catalog.store, bulk=True)
    send_by_replace_feed(catalog, timeout=3600)
    return {"imported": imported.variants_seen, "initial_sync_seconds": round(time.perf_counter() - started, 1)}


def start_cluster(log_dir: str):
    """One ``manage.py qcluster`` with the production schedules (the replace-feed one aside)."""
    from pathlib import Path

    from django_q.models import OrmQ, Schedule

    from catalog.models import PushRequest
    from galantis.schedules import ensure_schedules

    from ..chaos.harness import Cluster

    ensure_schedules()
    Schedule.objects.filter(func="catalog.tasks.push_due_feeds").delete()
    # What the import asked for is done (the initial sync pushed it): the clock starts clean.
    OrmQ.objects.all().delete()
    PushRequest.objects.update(pending_since=None, queued_at=None, confirm_queued_at=None)
    return Cluster(dict(os.environ), "freshness-qcluster", Path(log_dir))


# -- changes and their webhooks ----------------------------------------------------------------------


class Driver:
    """Makes changes in the sandbox shop and delivers the webhooks they fire."""

    def __init__(self, ctx, shop_id: int) -> None:
        from sandbox.shopify.models import Shop

        self.ctx = ctx
        self.shop = Shop.objects.get(pk=shop_id)
        self.url = f"{ctx.site_url}/shopify/webhooks/"
        self.changes: list[Change] = []
        self.delivered = 0
        self.failed = 0
        self.cents = 0

    def _variants(self):
        from sandbox.shopify.models import Variant

        return Variant.objects.filter(shop=self.shop).select_related("product").order_by("pk")

    def price_change(self, product, variants) -> list[Change]:
        from decimal import Decimal

        from catalog.items import format_price
        from sandbox.shopify import changes

        updates, made = [], []
        for variant in variants:
            self.cents = (self.cents + 1) % 9000
            price = Decimal(100 + self.cents) / 100 + Decimal(variant.pk % 50)
            updates.append({"variant": variant, "price": price, "compare_at_price": None})
            made.append(Change(str(variant.legacy_id), "price", format_price(price, self.shop.currency_code)))
        changes.update_variants(product, updates)
        return made

    def stock_change(self, variant) -> list[Change]:
        from sandbox.shopify import changes

        quantity = 1 + (variant.inventory_quantity + 7) % 40
        changes.set_inventory(variant, quantity)
        return [Change(str(variant.legacy_id), "quantity", quantity)]

    def pending_deliveries(self):
        from sandbox.shopify.models import WebhookDelivery

        waiting = WebhookDelivery.objects.filter(shop=self.shop, status=WebhookDelivery.Status.PENDING)
        return list(waiting.order_by("pk"))

    def send(self, deliveries, senders: int = 1) -> None:
        import requests

        from sandbox.shopify.models import WebhookDelivery
        from sandbox.shopify.webhooks import headers_for

        session = threading.local()

        def post(delivery) -> bool:
            http = getattr(session, "http", None) or requests.Session()
            session.http = http
            for _attempt in range(3):  # Shopify retries; the receiver de-duplicates
                try:
                    response = http.post(
                        self.url, data=bytes(delivery.body), headers=headers_for(delivery, self.shop), timeout=30
                    )
                    if 200 <= response.status_code < 300:
                        return True
                except requests.RequestException:
                    pass
            return False

        if senders > 1:
            with ThreadPoolExecutor(senders) as pool:
                outcomes = list(pool.map(post, deliveries))
        else:
            outcomes = [post(d) for d in deliveries]
        self.delivered += sum(outcomes)
        self.failed += len(outcomes) - sum(outcomes)
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
            status=WebhookDelivery.Status.DELIVERED
        )

    def record(self, made: list[Change], deliveries) -> None:
        ids = [str(d.webhook_id) for d in deliveries]
        for change in made:
            change.webhook_ids = ids
        self.changes.extend(made)

    def stream(self, seconds: float, rate: float, start: int) -> int:
        """``rate`` changes a second for ``seconds``, alternating a product's price and a variant's stock."""
        variants = list(self._variants()[start : start + int(seconds * rate) + 1])
        made = 0
        begin = time.monotonic()
        for n, variant in enumerate(variants):
            due = begin + n / rate
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            if time.monotonic() - begin > seconds:
                break
            new = self.price_change(variant.product, [variant]) if n % 2 else self.stock_change(variant)
            deliveries = self.pending_deliveries()
            self.send(deliveries)
            self.record(new, deliveries)
            made += 1
        return made

    def burst(self, size: int, start: int) -> float:
        """``size`` products get a new price at once; their webhooks arrive together. Returns send seconds."""
        from sandbox.shopify.models import Product

        products = list(Product.objects.filter(shop=self.shop).order_by("pk")[start : start + size])
        made: list[Change] = []
        for product in products:
            made += self.price_change(product, list(product.variants.all()))
        deliveries = self.pending_deliveries()
        started = time.perf_counter()
        self.send(deliveries, senders=SENDERS)
        self.record(made, deliveries)
        return time.perf_counter() - started


# -- reading what happened -------------------------------------------------------------------------


def settle(catalog, deadline: float) -> bool:
    """Wait until every webhook is processed and nothing waits or flies; False on timeout."""
    from catalog.models import SyncBatch, Variant, WebhookEvent

    while time.monotonic() < deadline:
        busy = (
            WebhookEvent.objects.filter(store_id=catalog.store_id, state=WebhookEvent.State.RECEIVED).exists()
            or Variant.objects.filter(catalog=catalog, meta_status=Variant.SyncStatus.PENDING).exists()
            or SyncBatch.objects.filter(catalog=catalog, state__in=SyncBatch.IN_FLIGHT_STATES).exists()
        )
        if not busy:
            return True
        time.sleep(0.5)
    return False


def attribute(changes: list[Change], since: datetime, catalog) -> dict:
    """Fill each change's receipt, sent and confirmed times from the database."""
    from catalog.models import SyncBatch, WebhookEvent
    from sandbox.models import ItemsBatch

    received: dict[str, datetime] = {}
    applied: dict[str, datetime] = {}
    ids = sorted({i for c in changes for i in c.webhook_ids})
    for start in range(0, len(ids), 900):
        events = WebhookEvent.objects.filter(webhook_id__in=ids[start : start + 900])
        for webhook_id, received_at, processed_at in events.values_list("webhook_id", "received_at", "processed_at"):
            received[webhook_id] = received_at
            if processed_at is not None:
                applied[webhook_id] = processed_at
    finished = dict(
        SyncBatch.objects.filter(catalog=catalog, kind=SyncBatch.Kind.ITEMS_BATCH, sent_at__gte=since).values_list(
            "handle", "finished_at"
        )
    )
    # Per retailer id: (sandbox receipt of the call, handle, price values, quantity) in call order.
    carried: dict[str, list[tuple]] = defaultdict(list)
    calls = 0
    for created_at, handle, requests_ in (
        ItemsBatch.objects.filter(created_at__gte=since)
        .order_by("created_at", "pk")
        .values_list("created_at", "handle", "requests")
        .iterator(chunk_size=20)
    ):
        calls += 1
        for request in requests_:
            data = request.get("data") or {}
            prices = {data.get("price"), data.get("sale_price")}
            carried[str(data.get("id"))].append((created_at, handle, prices, data.get("quantity_to_sell_on_facebook")))
    later: dict[tuple[str, str], list] = defaultdict(list)
    for change in reversed(changes):  # the values of this change and of every later one of the variant
        key = (change.retailer_id, change.kind)
        later[key].append(change.value)
        change_values = set(later[key])
        times = [received[i] for i in change.webhook_ids if i in received]
        change.receipt = min(times) if times else None
        if change.receipt is None:
            continue
        for created_at, handle, prices, quantity in carried.get(change.retailer_id, ()):
            if created_at < change.receipt:
                continue
            value = quantity if change.kind == "quantity" else None
            if (change.kind == "quantity" and value in change_values) or (
                change.kind == "price" and prices & change_values
            ):
                change.sent = created_at
                change.confirmed = finished.get(handle)
                break
    by_feed = attribute_to_feeds([c for c in changes if c.sent is None and c.receipt], applied, since, catalog)
    return {"calls": calls, "by_feed": by_feed}


def attribute_to_feeds(changes: list[Change], applied: dict[str, datetime], since: datetime, catalog) -> int:
    """Changes no call carried, when a feed upload did: new items are created by feed (catalog.sync.creation),
    and a shard holding one goes whole by that upload. The first upload of the variant's shard claimed after
    the change was applied (its webhook processed) carries it: an upload takes every PENDING item of the shard.
    """
    from catalog.models import SyncBatch, Variant

    uploads = list(
        SyncBatch.objects.filter(catalog=catalog, created_at__gte=since, sent_at__isnull=False)
        .exclude(kind=SyncBatch.Kind.ITEMS_BATCH)
        .order_by("created_at")
        .values_list("shard", "created_at", "sent_at", "finished_at")
    )
    if not uploads or not changes:
        return 0
    shard_count = max(catalog.shard_count, 1)
    rids = sorted({c.retailer_id for c in changes})
    shard_of = {}
    for start in range(0, len(rids), 900):
        rows = Variant.objects.filter(catalog=catalog, retailer_id__in=rids[start : start + 900])
        shard_of.update({rid: key % shard_count for rid, key in rows.values_list("retailer_id", "shard_key")})
    done = 0
    for change in changes:
        times = [applied[i] for i in change.webhook_ids if i in applied]
        if not times or change.retailer_id not in shard_of:
            continue
        for shard, created_at, sent_at, finished_at in uploads:
            if shard == shard_of[change.retailer_id] and created_at >= min(times):
                change.sent, change.confirmed, change.by_feed = sent_at, finished_at, True
                done += 1
                break
    return done


def kept_out_of_meta(changes: list[Change], catalog) -> set[tuple[str, str]]:
    """(retailer id, kind) of changes Meta is not to show: excluded or invalid items, untracked stock."""
    from catalog.models import Variant

    ids = sorted({c.retailer_id for c in changes})
    out: set[tuple[str, str]] = set()
    for start in range(0, len(ids), 500):
        rows = Variant.objects.filter(catalog=catalog, retailer_id__in=ids[start : start + 500]).values_list(
            "retailer_id", "excluded", "meta_status", "inventory_tracked"
        )
        for retailer_id, excluded, status, tracked in rows:
            if excluded or status == Variant.SyncStatus.FAILED:
                out |= {(retailer_id, "price"), (retailer_id, "quantity")}
            elif not tracked:
                out.add((retailer_id, "quantity"))
    return out


def lost_changes(changes: list[Change], catalog, examples: list) -> int:
    """Changed variants whose item in the sandbox Meta catalog differs from what we hold."""
    from catalog import items
    from catalog.models import Variant
    from sandbox.models import ProductItem

    ids = sorted({c.retailer_id for c in changes})
    lost = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        ours = Variant.objects.filter(catalog=catalog, retailer_id__in=chunk).select_related(
            "product", "product__store"
        )
        meta = {row.retailer_id: row.data for row in ProductItem.objects.filter(retailer_id__in=chunk)}
        for variant in ours:
            if variant.excluded or variant.meta_status == Variant.SyncStatus.FAILED:
                continue  # not to be live in Meta (draft, unpublished, invalid): nothing to compare
            expected = items.meta_item(variant, variant.product, variant.product.store)
            held = meta.get(variant.retailer_id) or {}
            for name in ("price", "sale_price", "availability", "quantity_to_sell_on_facebook"):
                if str(held.get(name, "")) != str(expected.get(name, "")):
                    lost += 1
                    examples.append(
                        [
                            variant.retailer_id,
                            name,
                            held.get(name),
                            expected.get(name),
                            variant.meta_status,
                            variant.excluded,
                        ]
                    )
                    break
    return lost


def truth_mismatches(changes: list[Change], catalog, examples: list) -> int:
    """Changed variants whose stored price or stock differs from the sandbox shop's (a lost webhook)."""
    from catalog.models import Variant
    from sandbox.shopify.models import Variant as ShopVariant

    ids = sorted({int(c.retailer_id) for c in changes})
    bad = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        shop = {v.legacy_id: (v.price, v.inventory_quantity) for v in ShopVariant.objects.filter(legacy_id__in=chunk)}
        for variant_id, price, quantity in Variant.objects.filter(
            catalog=catalog, shopify_variant_id__in=chunk
        ).values_list("shopify_variant_id", "price", "inventory_quantity"):
            if shop.get(variant_id) != (price, quantity):
                bad += 1
                examples.append([variant_id, "shopify", str(shop.get(variant_id)), str((price, quantity))])
    return bad


def seconds(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    return {
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "max": round(max(values), 2),
    }


def run(ctx) -> dict:
    import signal
    import tempfile

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from catalog.sync import budget

    def stop(signum, frame):  # a stopped bench stops its cluster too (the finally below)
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    warm = import_and_sync(ctx)
    catalog = bench_catalog()
    load_at_start = wait_for_quiet()
    burst_size = ctx.samples or DEFAULT_BURST
    small = burst_size <= 10  # the smoke run
    stream_seconds = 8.0 if small else 40.0
    log_dir = tempfile.mkdtemp(prefix="bench-freshness-")
    since = timezone.now()
    calls_before = budget.calls_this_hour(catalog.pk, since)
    cluster = start_cluster(log_dir)
    driver = Driver(ctx, ctx.extra["shop_id"])
    started = time.perf_counter()
    try:
        time.sleep(2)  # the cluster's workers start
        cursor = driver.stream(stream_seconds, STREAM_PER_SECOND, start=0)
        burst_seconds = [driver.burst(burst_size, start=0)]
        cursor += driver.stream(stream_seconds, STREAM_PER_SECOND, start=cursor + 1)
        if not small:
            burst_seconds.append(driver.burst(burst_size, start=burst_size))
            cursor += driver.stream(stream_seconds, STREAM_PER_SECOND, start=cursor + 1)
        stream_end = time.perf_counter()
        settled = settle(catalog, time.monotonic() + SETTLE_TIMEOUT)
        settle_seconds = time.perf_counter() - stream_end
    finally:
        cluster.stop()
    wall = time.perf_counter() - started
    figures = attribute(driver.changes, since, catalog)
    if TIMELINE_FILE:
        write_timeline(TIMELINE_FILE, driver.changes, since, catalog)
    now = timezone.now()
    calls_this_hour = budget.calls_this_hour(catalog.pk, now)
    kept_out = kept_out_of_meta(driver.changes, catalog)
    measured = [c for c in driver.changes if (c.retailer_id, c.kind) not in kept_out]
    sent = [(c.sent - c.receipt).total_seconds() for c in measured if c.sent and c.receipt]
    confirmed = [(c.confirmed - c.receipt).total_seconds() for c in measured if c.confirmed and c.receipt]
    unmatched = sum(1 for c in measured if c.sent is None)
    lost_examples: list = []
    run_calls = figures["calls"]
    result = {
        "items": len(driver.changes),
        "loop_seconds": round(wall, 3),
        "variant_changes": len(driver.changes),
        "webhooks_delivered": driver.delivered,
        "webhooks_failed": driver.failed,
        "burst": burst_size,
        "load_at_clock_start": load_at_start,
        "shard_count": catalog.shard_count,
        "burst_send_seconds": [round(s, 2) for s in burst_seconds],
        "stream_per_second": STREAM_PER_SECOND,
        "settled": settled,
        "settle_seconds": round(settle_seconds, 1),
        **{f"sent_{k}_seconds": v for k, v in seconds(sent).items()},
        **{f"confirmed_{k}_seconds": v for k, v in seconds(confirmed).items()},
        "measured_changes": len(measured),
        "unattributed": unmatched,  # a change to be in Meta that no call carried
        "lost": lost_changes(driver.changes, catalog, lost_examples)
        + truth_mismatches(driver.changes, catalog, lost_examples),
        "lost_examples": lost_examples[:10],
        "unattributed_examples": [[c.retailer_id, c.kind, c.value] for c in measured if c.sent is None][:10],
        "kept_out_of_meta": len(driver.changes) - len(measured),
        "carried_by_feed": figures["by_feed"],  # new items go by feed, and their shard's pending with them
        "items_batch_calls": run_calls,
        "variant_changes_per_call": round(len(driver.changes) / run_calls, 1) if run_calls else None,
        "calls_per_hour_rate": round(run_calls * 3600 / wall, 1) if wall else None,
        "calls_this_hour": calls_this_hour,
        "calls_before_run": calls_before,
        "calls_budget": settings.SYNC_BATCH_CALLS_PER_HOUR,
        "calls_over_budget": max(calls_this_hour - settings.SYNC_BATCH_CALLS_PER_HOUR, 0),
        "sandbox_batch_delay_seconds": settings.SANDBOX_BATCH_DELAY_SECONDS,
        "broker": "redis" if getattr(settings, "REDIS_URL", "") else "orm",
        "cluster_log": log_dir,
        **warm,
    }
    connection.close()
    return result


def baseline(ctx) -> dict:
    """The plugin's push: one items_batch call per changed variant (here on a few changed variants)."""
    from catalog.models import Variant

    from .sync_common import naive_push

    catalog = bench_catalog()
    variants = Variant.objects.filter(catalog=catalog).order_by("pk")
    ids = list(variants.values_list("pk", flat=True)[: ctx.baseline_items])
    result = naive_push(ids)
    result["items_batch_calls"] = len(ids)
    result["variant_changes_per_call"] = 1.0
    return result


def sql_per_5000(run: dict) -> None:
    return None  # the cluster's statements run in other processes


def speedup(run: dict, base: dict) -> float | None:
    """Variant changes per items_batch call, ours over the per-change push's one."""
    return run.get("variant_changes_per_call")


def baseline_total(ctx, run: dict) -> int:
    return run["items"]


def wait_for_quiet() -> list[float]:
    """Wait until the machine is quiet enough to start the clock (``FRESHNESS_QUIET_LOAD``); the load then."""
    deadline = time.monotonic() + 3600
    while QUIET_LOAD and os.getloadavg()[0] > QUIET_LOAD and time.monotonic() < deadline:
        time.sleep(10)
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"freshness: the clock starts at load {load}", file=sys.stderr, flush=True)
    return load


def write_timeline(path: str, changes: list[Change], since: datetime, catalog) -> None:
    """Every call and upload, webhook and change of the run with its times, as JSON in ``path``."""
    import json

    from catalog.models import SyncBatch, WebhookEvent

    batches = list(
        SyncBatch.objects.filter(catalog=catalog, created_at__gte=since)
        .order_by("created_at")
        .values("pk", "kind", "shard", "created_at", "changed_at", "sent_at", "finished_at", "item_count", "state")
    )
    webhooks = list(WebhookEvent.objects.filter(received_at__gte=since).values_list("received_at", "processed_at"))
    rows = [[c.retailer_id, c.kind, c.receipt, c.sent, c.confirmed] for c in changes]
    with open(path, "w") as out:
        json.dump({"since": since, "batches": batches, "events": webhooks, "changes": rows}, out, default=str)
