"""``webhooks``: a burst of signed Shopify webhooks against the running app, over loopback.

``products/update`` deliveries for the catalog's own products, signed with the store's
secret like Shopify signs them, sent by concurrent senders to ``POST /shopify/webhooks/``
on the gunicorn server. Measured: accepted per second, and lost: accepted but not stored,
checked in the database afterwards (must be 0); then the store's drain (what a Django-Q
worker runs) processes every stored event: processed per second. The baseline is the
handler a plugin writes (``bench/naive.py``): verify the signature, then one ORM read and
one save per variant in the payload, inside the request, served by the same gunicorn and
sent by the same senders.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import resource
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ..report import Target
from .common import bench_catalog, latency_figures

SEED_KIND = "catalog"
SCALES_WITH_CATALOG = False
DEFAULT_BURST = 2000
SENDERS = 16  # concurrent connections, like Shopify's parallel deliveries
# Issue 21's targets (PostgreSQL, 1,000,000 variants); the first ones were >= 300 accepted/s.
TARGETS = [
    Target("accepted_per_second", ">=", 1000),
    Target("latency_p95_ms", "<=", 50, note="receipt latency as the senders saw it"),
    Target("lost", "<=", 0, note="accepted but not stored (checked in the database)"),
    Target("processed_per_second", ">=", 1000, note="the store's drain, after the burst"),
]


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def product_payloads(limit: int) -> list[dict]:
    """REST ``products/update`` bodies for the first ``limit`` products (with their variants)."""
    from catalog.models import Product, Variant

    catalog = bench_catalog()
    products = list(Product.objects.filter(store=catalog.store).order_by("pk")[:limit])
    variants: dict[int, list] = {}
    for v in Variant.objects.filter(product__in=products).order_by("product_id", "position"):
        variants.setdefault(v.product_id, []).append(v)
    bodies = []
    for p in products:
        bodies.append(
            {
                "id": p.shopify_product_id,
                "admin_graphql_api_id": f"gid://shopify/Product/{p.shopify_product_id}",
                "title": p.title,
                "body_html": p.description_html,
                "vendor": p.vendor,
                "product_type": p.product_type,
                "handle": p.handle,
                "status": p.status.lower(),
                "tags": ", ".join(p.tags),
                "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                "variants": [
                    {
                        "id": v.shopify_variant_id,
                        "product_id": p.shopify_product_id,
                        "title": v.title,
                        "sku": v.sku,
                        "price": str(v.price + 1),
                        "position": v.position,
                        "inventory_quantity": v.inventory_quantity,
                        "inventory_item_id": v.inventory_item_id,
                        "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.shopify_variant_id}",
                    }
                    for v in variants.get(p.pk, [])
                ],
                "images": [{"id": img.get("id"), "src": img.get("src")} for img in p.images],
            }
        )
    return bodies


def deliveries(count: int) -> tuple[list[tuple[bytes, dict]], str]:
    """``count`` signed deliveries (bodies cycle over the products); also the shop domain."""
    catalog = bench_catalog()
    store = catalog.store
    payloads = product_payloads(min(count, 5000))
    out = []
    for n in range(count):
        body = json.dumps(payloads[n % len(payloads)]).encode()
        out.append((body, signed_headers(store, "products/update", body)))
    return out, store.shop_domain


def signed_headers(store, topic: str, body: bytes, triggered_at: str | None = None) -> dict:
    """The headers Shopify sends with a delivery of ``body``: signed with the store's secret, fresh ids."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": store.shop_domain,
        "X-Shopify-Hmac-Sha256": sign(body, store.webhook_secret),
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def prepare(ctx) -> dict:
    return {}  # the seeded store already has its webhook secret


def send_burst(url: str, burst: list[tuple[bytes, dict]]) -> tuple[list[int], list[float], float]:
    """POST every delivery from ``SENDERS`` threads; return statuses, latencies and wall seconds.

    Each thread keeps one HTTP/1.1 keep-alive connection (``http.client``: the sender shares
    the two cores with the server, and ``requests`` cost ~2 ms of CPU per POST). A request
    that fails on a reused connection (the server closed it) is sent once more on a new one,
    as Shopify retries; the receiver de-duplicates, so a retry can never store twice.
    """
    parts = urlsplit(url)
    local = threading.local()
    statuses: list[int] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def post(body: bytes, headers: dict) -> int:
        for attempt in (1, 2):
            conn = getattr(local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            try:
                conn.request("POST", parts.path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.will_close:
                    conn.close()
                    local.conn = None
                return response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                local.conn = None
                if not reused or attempt == 2:
                    return 0
        return 0

    def send(delivery) -> None:
        body, headers = delivery
        started = time.perf_counter()
        status = post(body, headers)
        with lock:
            statuses.append(status)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(send, burst))
    return statuses, latencies, time.perf_counter() - started


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(ctx) -> dict:
    from django.db import connection

    from catalog.models import WebhookEvent
    from catalog.shopify import webhooks

    burst, _shop = deliveries(ctx.samples or DEFAULT_BURST)
    cpu_before = _cpu()
    statuses, latencies, elapsed = send_burst(ctx.site_url + "/shopify/webhooks/", burst)
    sender_cpu = _cpu() - cpu_before
    accepted = sum(1 for s in statuses if 200 <= s < 300)
    sent_ids = [headers["X-Shopify-Webhook-Id"] for _body, headers in burst]
    stored = 0
    for start in range(0, len(sent_ids), 900):
        stored += WebhookEvent.objects.filter(webhook_id__in=sent_ids[start : start + 900]).count()
    # Then what a Django-Q worker does with them (no cluster runs in the bench): drain the
    # store until nothing waits, so "stored" also means "processed".
    store_id = bench_catalog().store_id
    cpu_before, drain_started = _cpu(), time.perf_counter()
    processed = 0
    while drained := webhooks.drain(store_id):
        processed += drained
    drain_seconds, drain_cpu = time.perf_counter() - drain_started, _cpu() - cpu_before
    unprocessed = WebhookEvent.objects.filter(store_id=store_id, state=WebhookEvent.State.RECEIVED).count()
    connection.close()
    return {
        "items": len(burst),
        "loop_seconds": round(elapsed, 3),  # the burst: wall_seconds and items_per_second are the receiving
        "burst": len(burst),
        "senders": SENDERS,
        "accepted": accepted,
        "rejected": len(burst) - accepted,
        "accepted_per_second": round(accepted / elapsed, 1),
        "stored": stored,
        "lost": accepted - stored,
        "http_requests": len(burst),
        "sender_cpu_seconds": round(sender_cpu, 2),
        **{f"latency_{k}": v for k, v in latency_figures(latencies).items()},
        "processed": processed,
        "unprocessed": unprocessed,
        "drain_seconds": round(drain_seconds, 3),
        "drain_cpu_seconds": round(drain_cpu, 2),
        "processed_per_second": round(processed / drain_seconds, 1) if drain_seconds and processed else None,
    }


def baseline(ctx) -> dict:
    """A plugin's inline handler (bench/naive.py) on the same server, sent the same way.

    Verify, then one ORM read and one save per variant of the payload, inside the request:
    over HTTP through the same gunicorn, middleware, database and senders as our receiver.
    """
    burst, _shop = deliveries(min(ctx.baseline_items, ctx.samples or DEFAULT_BURST))
    statuses, latencies, elapsed = send_burst(ctx.site_url + "/bench/naive/shopify-webhook/", burst)
    accepted = sum(1 for s in statuses if 200 <= s < 300)
    if accepted != len(burst):
        raise RuntimeError(f"the naive handler accepted {accepted} of {len(burst)} deliveries")
    return {
        "items": len(burst),
        "loop_seconds": round(elapsed, 3),
        "accepted_per_second": round(accepted / elapsed, 1),
        "http_requests": len(burst),
        **{f"latency_{k}": v for k, v in latency_figures(latencies).items()},
        "baseline_note": "inline per-variant handler served by the same gunicorn, sent by the same "
        f"{SENDERS} senders (bench/naive.py)",
    }


def sql_per_5000(run: dict) -> None:
    return None  # the receiver's statements run in the server process


def speedup(run: dict, base: dict) -> float | None:
    """Accepted per second, ours over the naive handler's (same server, same senders)."""
    theirs = base.get("accepted_per_second") or base.get("items_per_second")
    if not run.get("accepted_per_second") or not theirs:
        return None
    return round(run["accepted_per_second"] / theirs, 1)


def baseline_total(ctx, run: dict) -> int:
    return run["items"]
