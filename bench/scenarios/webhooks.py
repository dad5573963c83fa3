"""``webhooks``: a burst of signed Shopify webhooks against the running app, over loopback.

``products/update`` deliveries for the catalog's own products, signed with the store's
secret like Shopify signs them, sent by concurrent senders to ``POST /shopify/webhooks/``
on the gunicorn server. Measured: accepted per second, and lost: accepted but not stored,
checked in the database afterwards (must be 0). The baseline is the handler a plugin
writes: verify the signature, then one ORM read and one save per variant in the payload,
inline (in process, without HTTP — which flatters it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from ..report import Target
from .common import bench_catalog, latency_figures

SEED_KIND = "catalog"
SCALES_WITH_CATALOG = False
DEFAULT_BURST = 2000
SENDERS = 16  # concurrent connections, like Shopify's parallel deliveries
TARGETS = [
    Target("accepted_per_second", ">=", 300),
    Target("lost", "<=", 0, note="accepted but not stored (checked in the database)"),
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
        bodies.append({
            "id": p.shopify_product_id,
            "admin_graphql_api_id": f"gid://shopify/Product/{p.shopify_product_id}",
            "title": p.title, "body_html": p.description_html, "vendor": p.vendor, "product_type": p.product_type,
            "handle": p.handle, "status": p.status.lower(), "tags": ", ".join(p.tags),
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            "variants": [
                {"id": v.shopify_variant_id, "product_id": p.shopify_product_id, "title": v.title, "sku": v.sku,
                 "price": str(v.price + 1), "position": v.position, "inventory_quantity": v.inventory_quantity,
                 "inventory_item_id": v.inventory_item_id,
                 "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.shopify_variant_id}"}
                for v in variants.get(p.pk, [])
            ],
            "images": [{"id": img.get("id"), "src": img.get("src")} for img in p.images],
        })
    return bodies


def deliveries(count: int) -> tuple[list[tuple[bytes, dict]], str]:
    """``count`` signed deliveries (bodies cycle over the products); also the shop domain."""
    catalog = bench_catalog()
    store = catalog.store
    payloads = product_payloads(min(count, 5000))
    out = []
    for n in range(count):
        body = json.dumps(payloads[n % len(payloads)]).encode()
        out.append((body, {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "products/update",
            "X-Shopify-Shop-Domain": store.shop_domain,
            "X-Shopify-Hmac-Sha256": sign(body, store.webhook_secret),
            "X-Shopify-API-Version": "2025-10",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }))
    return out, store.shop_domain


def prepare(ctx) -> dict:
    return {}  # the seeded store already has its webhook secret


def run(ctx) -> dict:
    from django.db import connection

    from catalog.models import WebhookEvent

    burst, _shop = deliveries(ctx.samples or DEFAULT_BURST)
    url = ctx.site_url + "/shopify/webhooks/"
    local = threading.local()
    statuses: list[int] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def send(delivery):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body, headers = delivery
        started = time.perf_counter()
        try:
            status = session.post(url, data=body, headers=headers, timeout=30).status_code
        except requests.RequestException:
            status = 0
        with lock:
            statuses.append(status)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(send, burst))
    elapsed = time.perf_counter() - started
    accepted = sum(1 for s in statuses if 200 <= s < 300)
    sent_ids = [headers["X-Shopify-Webhook-Id"] for _body, headers in burst]
    stored = 0
    for start in range(0, len(sent_ids), 900):
        stored += WebhookEvent.objects.filter(webhook_id__in=sent_ids[start : start + 900]).count()
    connection.close()
    return {
        "items": len(burst),
        "burst": len(burst),
        "senders": SENDERS,
        "accepted": accepted,
        "rejected": len(burst) - accepted,
        "accepted_per_second": round(accepted / elapsed, 1),
        "stored": stored,
        "lost": accepted - stored,
        **{f"latency_{k}": v for k, v in latency_figures(latencies).items()},
    }


def baseline(ctx) -> dict:
    """A plugin's inline handler: verify, then read and save every variant of the payload."""
    from decimal import Decimal

    from catalog.models import Variant

    burst, _shop = deliveries(min(ctx.baseline_items, ctx.samples or DEFAULT_BURST))
    secret = bench_catalog().store.webhook_secret
    tenant_id = bench_catalog().tenant_id
    started = time.perf_counter()
    for body, headers in burst:
        if not hmac.compare_digest(sign(body, secret), headers["X-Shopify-Hmac-Sha256"]):
            raise RuntimeError("bad signature")
        for item in json.loads(body)["variants"]:
            variant = Variant.objects.get(tenant_id=tenant_id, shopify_variant_id=item["id"])
            variant.price = Decimal(item["price"])
            variant.save()
    return {"items": len(burst), "loop_seconds": round(time.perf_counter() - started, 3),
            "baseline_note": "inline handler in process, without HTTP"}


def sql_per_5000(run: dict) -> None:
    return None  # the receiver's statements run in the server process


def speedup(run: dict, base: dict) -> float | None:
    if not run.get("accepted_per_second") or not base.get("items_per_second"):
        return None
    return round(run["accepted_per_second"] / base["items_per_second"], 1)


def baseline_total(ctx, run: dict) -> int:
    return run["items"]
