"""``conversions``: a burst of paid orders becoming Conversions API Purchase events at Meta.

Prepared (not measured): a sandbox Meta business with a pixel, linked to the catalog.
Measured: ``--samples`` (default 2,000) signed ``orders/paid`` deliveries (one to three
lines of the catalog's variants, a buyer with e-mail, phone, name, address and browser),
sent by 16 concurrent senders to ``POST /shopify/webhooks/`` on the gunicorn server (as
the ``webhooks`` scenario sends), then what the Django-Q workers run (no cluster runs in
the bench): the store's webhook drain (``catalog.shopify.webhooks.drain``: each order to
``conversions.orders.record_paid_order``, one queued ``ConversionEvent`` per order), then
the send task (``conversions.send.send_catalog_events``: claim, ``POST /{pixel}/events``
of 100 events a request, record) until nothing is due. Figures: receipt → sent
throughput (events sent ÷ wall time from the burst's first delivery to the last event
recorded SENT), each phase's rate, Graph calls (``/events`` requests), our CPU, and
``lost``: accepted orders the pixel did not receive (read in the sandbox; must be 0).

Baseline: the per-order send a plugin writes: per order one ORM read per line's
variant, the event built (the same builder, so the same hashing), one ``POST
/{pixel}/events`` of that event alone, and one row saved; measured on
``--baseline-items`` orders (no webhook receipt, no queue: the naive send alone).
``speedup``: events per second, our receipt → sent over the naive send's.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

from ..report import Target
from ..seed import connect_meta
from .common import bench_catalog, latency_figures
from .wave2 import Clock
from .webhooks import SENDERS, send_burst, signed_headers

SEED_KIND = "catalog"
SCALES_WITH_CATALOG = False
DEFAULT_BURST = 2000
ORDER_ID_BASE = 5_700_000_000_000
NAIVE_ORDER_ID_BASE = 5_800_000_000_000
TARGETS = [Target("lost", "<=", 0, note="accepted paid orders the pixel did not receive")]


def prepare(ctx) -> dict:
    from catalog.models import Catalog

    meta = connect_meta()
    # What "Connect pixel" leaves (catalog.connection.catalogs.connect_pixel, over HTTP, not measured).
    Catalog.objects.filter(pk=bench_catalog().pk).update(pixel_id=meta["pixel_id"])
    return {"pixel_id": meta["pixel_id"]}


def order_payload(n: int, lines: list[tuple[int, Decimal]], currency: str, base: int = ORDER_ID_BASE) -> dict:
    """An ``orders/paid`` REST body as Shopify sends it (the fields the event is built from)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    line_items = [
        {"id": base + n * 10 + k, "variant_id": vid, "quantity": 1 + k, "price": str(price), "title": f"Item {vid}"}
        for k, (vid, price) in enumerate(lines)
    ]
    total = sum(Decimal(line["price"]) * line["quantity"] for line in line_items)
    return {
        "id": base + n,
        "admin_graphql_api_id": f"gid://shopify/Order/{base + n}",
        "name": f"#B{n + 1}",
        "order_number": n + 1,
        "email": f"buyer{n}@example.com",
        "phone": f"+35191{n:07d}",
        "currency": currency,
        "total_price": str(total),
        "subtotal_price": str(total),
        "financial_status": "paid",
        "processed_at": now,
        "created_at": now,
        "updated_at": now,
        "source_name": "web",
        "customer": {
            "id": 9_000_000 + n,
            "first_name": "Sam",
            "last_name": f"Buyer{n}",
            "email": f"buyer{n}@example.com",
        },
        "billing_address": {"city": "Lisbon", "zip": "1100-148", "country_code": "PT", "phone": f"91{n:07d}"},
        "client_details": {"browser_ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (bench)"},
        "line_items": line_items,
    }


def orders(count: int, base: int = ORDER_ID_BASE) -> list[dict]:
    """``count`` paid orders of one to three lines, cycling over the catalog's variants."""
    from catalog.models import Variant

    catalog = bench_catalog()
    variants = list(
        Variant.objects.filter(catalog=catalog).order_by("pk").values_list("shopify_variant_id", "price")[:5000]
    )
    out = []
    for n in range(count):
        lines = [variants[(n * 3 + k) % len(variants)] for k in range(1 + n % 3)]
        out.append(order_payload(n, lines, catalog.store.currency or "USD", base))
    return out


def deliveries(count: int) -> list[tuple[bytes, dict]]:
    store = bench_catalog().store
    out = []
    for payload in orders(count):
        body = json.dumps(payload).encode()
        out.append((body, signed_headers(store, "orders/paid", body)))
    return out


def pixel_received(pixel_id: str, event_ids: list[str]) -> int:
    """Events the sandbox pixel holds among ``event_ids`` (Meta's side: de-duplicated by event id)."""
    from sandbox.models import Pixel, ServerEvent

    pixel = Pixel.pk_from_fbid(pixel_id)
    received = 0
    for start in range(0, len(event_ids), 900):
        received += ServerEvent.objects.filter(
            pixel_id=pixel, event_name="Purchase", event_id__in=event_ids[start : start + 900]
        ).count()
    return received


def run(ctx) -> dict:
    from django.db import connection
    from django.db.models import Count

    from catalog.models import WebhookEvent
    from catalog.shopify import webhooks
    from conversions import send
    from conversions.models import ConversionEvent

    from ..measure import HttpCounter

    catalog = bench_catalog()
    burst = deliveries(ctx.samples or DEFAULT_BURST)
    event_ids = [str(json.loads(body)["id"]) for body, _headers in burst]
    started = time.perf_counter()
    with Clock() as receipt:
        statuses, latencies, _elapsed = send_burst(ctx.site_url + "/shopify/webhooks/", burst)
    accepted = sum(1 for s in statuses if 200 <= s < 300)
    with Clock() as drain:
        processed = 0
        while drained := webhooks.drain(catalog.store_id):
            processed += drained
    with Clock() as sending, HttpCounter() as calls:
        sent = dead = retried = rounds = 0
        while True:
            result = send.send_catalog_events(catalog.pk)
            rounds += 1
            sent, dead, retried = sent + result.sent, dead + result.dead, retried + result.retried
            if not result.sent and not result.retried:
                break
    total = time.perf_counter() - started
    ours = ConversionEvent.objects.filter(catalog=catalog, event_id__in=event_ids)
    states = dict(ours.values("state").annotate(n=Count("pk")).values_list("state", "n"))
    received = pixel_received(ctx.extra["pixel_id"], event_ids)
    unprocessed = WebhookEvent.objects.filter(
        store_id=catalog.store_id, state=WebhookEvent.State.RECEIVED, topic="orders/paid"
    ).count()
    connection.close()
    return {
        "items": received,  # events at Meta
        "loop_seconds": round(total, 3),  # receipt -> sent: first delivery to the last event recorded SENT
        "orders": len(burst),
        "senders": SENDERS,
        "accepted": accepted,
        "accepted_per_second": round(accepted / receipt.wall, 1) if receipt.wall else None,
        **{f"receipt_latency_{k}": v for k, v in latency_figures(latencies).items()},
        "processed": processed,
        "unprocessed": unprocessed,
        "drain_seconds": round(drain.wall, 3),
        "drain_cpu_seconds": round(drain.cpu, 3),
        "queued_per_second": round(processed / drain.wall, 1) if drain.wall and processed else None,
        "sent": sent,
        "dead": dead,
        "retried": retried,
        "send_rounds": rounds,
        "send_seconds": round(sending.wall, 3),
        "send_cpu_seconds": round(sending.cpu, 3),
        "sent_per_second_of_sending": round(sent / sending.wall, 1) if sending.wall and sent else None,
        "graph_calls": calls.count,
        "events_per_call": round(sent / calls.count, 1) if calls.count else None,
        "sender_cpu_seconds": round(receipt.cpu, 3),
        "our_cpu_seconds": round(drain.cpu + sending.cpu, 3),
        "events_states": states,
        "received_by_pixel": received,
        "events_per_second": round(received / total, 1) if total else None,
        "lost": accepted - received,
    }


def baseline(ctx) -> dict:
    """Per order: read each line's variant, build the event, POST it alone, save a row."""
    from django.utils import timezone

    from catalog.graph_clients import client_for
    from catalog.models import Variant
    from conversions import events
    from conversions.models import ConversionEvent

    catalog = bench_catalog()
    store = catalog.store
    client = client_for(catalog, max_retries=0)
    payloads = orders(min(ctx.baseline_items, ctx.samples or DEFAULT_BURST), base=NAIVE_ORDER_ID_BASE)
    started = time.perf_counter()
    for payload in payloads:
        retailer_ids = {}
        for line in payload["line_items"]:
            variant = Variant.objects.get(tenant_id=store.tenant_id, shopify_variant_id=line["variant_id"])
            retailer_ids[variant.shopify_variant_id] = variant.retailer_id
        now = timezone.now()
        built = events.build_purchase(
            payload,
            retailer_ids=retailer_ids,
            site_url=store.primary_domain_url,
            catalog_currency=store.currency,
            now=now,
        )
        answer = client.post(f"{catalog.pixel_id}/events", {"data": [built.payload]}, as_json=True)
        ConversionEvent.objects.create(
            tenant_id=store.tenant_id,
            store=store,
            catalog=catalog,
            shopify_order_id=built.order_id,
            order_name=built.order_name,
            event_name="Purchase",
            event_id=built.event_id,
            event_time=built.event_time,
            next_attempt_at=now,
            state=ConversionEvent.State.SENT,
            sent_at=now,
            fbtrace_id=str(answer.get("fbtrace_id") or "")[:64],
            payload={**built.payload, "user_data": {}},
        )
    elapsed = time.perf_counter() - started
    return {
        "items": len(payloads),
        "loop_seconds": round(elapsed, 3),
        "events_per_second": round(len(payloads) / elapsed, 1) if elapsed else None,
        "baseline_note": "per-order send (no webhook receipt, no queue): one POST /events per order",
    }


def baseline_total(ctx, run: dict) -> int:
    return run["orders"]


def sql_per_5000(run: dict) -> None:
    return None  # the receipt's statements run in the server process


def speedup(run: dict, base: dict) -> float | None:
    """Events per second: our receipt -> sent over the naive per-order send."""
    ours, theirs = run.get("events_per_second"), base.get("events_per_second")
    return round(ours / theirs, 1) if ours and theirs else None
