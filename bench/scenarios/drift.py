"""``drift``: the drift scan reads the catalog back from Meta and re-pushes what drifted.

Prepared (not measured): the catalog sent by its replace feed over HTTP (Meta, the
sandbox, holds every valid item), then drift planted in Meta as an edit in Commerce
Manager would make it: 1% of the SYNCED items get another price in the sandbox's own
rows. Measured: one full pass of the real scan (``catalog.sync.drift.scan``, run after
run as the 15-minute schedule calls it, each run reading ``pages_per_run`` pages of 500
items, resuming from its Graph cursor, until the pass ends): Graph calls, our CPU, items
compared, drift found and re-pushed (marked PENDING). Then, as the next push and pass
would: the re-pushed items sent by ``sync_now`` (batch) and a second full pass, which
must find no drift (``drift_found_after_repush``: 0; ``drift_fixed``: found minus that).
Projected with the schedule (``DRIFT_SCAN_EVERY_MINUTES``): passes and Graph calls per day,
our CPU per pass and per hour.

Baseline: the per-item check a plugin writes: per SYNCED item one ORM read (product and
store joined), our payload built, one ``GET /{catalog}/products?filter={"retailer_id":
{"eq":...}}``, compared, saved; on ``--baseline-items`` items, extrapolated to the pass's
items (its calls per pass = items). ``speedup``: items compared per second.
"""

from __future__ import annotations

import json
import math
import time

from ..report import MILLION, Target
from ..seed import connect_meta
from .common import bench_catalog, rate_speedup, sql_per_5000  # noqa: F401
from .sync_common import send_by_replace_feed
from .wave2 import Clock, per, synced_variants

SEED_KIND = "catalog"
SCALES_WITH_CATALOG = False  # per pass / day / hour, and projected to 1,000,000 in ``at_1m``
DRIFT_EVERY = 100  # 1% of the SYNCED items drift
DRIFT_REMAINDER = 3
PRICE_DRIFT_MINOR = 100  # Meta's price raised by 1.00
TARGETS = [
    Target("drift_found_after_repush", "<=", 0, note="every planted drift re-pushed and Meta in step again"),
]
speedup = rate_speedup


def baseline_total(ctx, run: dict) -> int:
    return run["items"]


def prepare(ctx) -> dict:
    connect_meta()
    return {}


def plant_drift(catalog) -> int:
    """Another price in Meta for 1% of the SYNCED items (as an edit in Commerce Manager)."""
    from django.db.models import F
    from django.db.models.functions import Mod

    from sandbox.models import ProductCatalog, ProductItem

    rids = list(
        synced_variants(catalog)
        .alias(m=Mod("pk", DRIFT_EVERY))
        .filter(m=DRIFT_REMAINDER)
        .values_list("retailer_id", flat=True)
    )
    meta_catalog = ProductCatalog.pk_from_fbid(catalog.meta_catalog_id)
    planted = 0
    for start in range(0, len(rids), 500):
        planted += ProductItem.objects.filter(
            catalog_id=meta_catalog, retailer_id__in=rids[start : start + 500], price_amount__isnull=False
        ).update(price_amount=F("price_amount") + PRICE_DRIFT_MINOR)
    return planted


def prepare_served(ctx) -> dict:
    catalog = bench_catalog()
    send_by_replace_feed(catalog)
    return {"extra": {"planted": plant_drift(catalog), "synced": synced_variants(catalog).count()}}


def full_pass(catalog, client, max_runs: int) -> dict:
    """Scan runs until the pass ends; totals of the pass."""
    from catalog.sync import drift

    from ..measure import HttpCounter

    totals = {"runs": 0, "calls": 0, "items": 0, "drifted": 0, "repushed": 0, "ghosts": 0, "duplicates": 0}
    with Clock() as clock, HttpCounter() as http:
        for _ in range(max_runs):
            report = drift.scan(catalog, client=client)
            if report.error:
                raise RuntimeError(f"drift scan failed: {report.error}")
            totals["runs"] += 1
            for key in ("calls", "items", "drifted", "repushed", "ghosts", "duplicates"):
                totals[key] += getattr(report, key)
            if report.pass_finished:
                break
        else:
            raise RuntimeError(f"the pass did not end within {max_runs} runs: {totals}")
    totals["wall_seconds"], totals["cpu_seconds"] = round(clock.wall, 3), round(clock.cpu, 3)
    totals["http_requests"] = http.count  # Graph calls as sent (the scan's own count aside)
    return totals


def run(ctx) -> dict:
    from django.conf import settings

    from catalog.graph_clients import client_for
    from catalog.models import Variant
    from catalog.sync import drift
    from catalog.sync import run as sync_run

    catalog = bench_catalog()
    client = client_for(catalog)
    pages_per_run = drift.pages_per_run(catalog)
    pages = math.ceil(ctx.variants / drift.PAGE_SIZE)
    max_runs = pages + 10
    first = full_pass(catalog, client, max_runs)
    # The next push sends the re-pushed items; the next pass must find Meta in step.
    with Clock() as push_clock:
        pushed = sync_run.sync_now(catalog, mode="batch", wait=True, timeout=3600)
    if pushed.timed_out or pushed.status["counts"][Variant.SyncStatus.PENDING]:
        raise RuntimeError(f"the re-push did not finish: {pushed.as_dict()}")
    second = full_pass(catalog, client, max_runs)
    runs_per_day = 24 * 60 // max(settings.DRIFT_SCAN_EVERY_MINUTES, 1)
    # Each run reads pages_per_run pages; a run that ends the pass stops there, the next starts a new one.
    passes_per_day = runs_per_day / first["runs"]
    calls = first["http_requests"]
    return {
        "items": first["items"],  # items Meta holds, compared once in the pass
        "loop_seconds": first["wall_seconds"],
        "synced": ctx.extra.get("synced"),
        "drift_planted": ctx.extra.get("planted"),
        "drift_found": first["drifted"],
        "drift_repushed": first["repushed"],
        "ghosts_found": first["ghosts"],
        "duplicate_catalogs_found": first["duplicates"],
        "repush_sent": pushed.items,
        "repush_wall_seconds": round(push_clock.wall, 3),
        "drift_found_after_repush": second["drifted"],
        "drift_fixed": first["drifted"] - second["drifted"],
        "pass": first,
        "verification_pass": second,
        "graph_calls_per_pass": calls,
        "pages_per_run": pages_per_run,
        "scan_runs_per_day": runs_per_day,
        "passes_per_day": round(passes_per_day, 2),
        "graph_calls_per_day": round(calls * passes_per_day),
        "our_cpu_seconds_per_pass": first["cpu_seconds"],
        "our_cpu_seconds_per_hour": round(first["cpu_seconds"] * passes_per_day / 24, 3),
        "our_cpu_ms_per_item": per(first["cpu_seconds"] * 1000, first["items"]),
        "at_1m": at_million(ctx.variants, first, runs_per_day),
    }


def at_million(variants: int, first: dict, runs_per_day: int) -> dict:
    """A pass at 1,000,000 variants: the schedule's pages per run for that size, the items Meta
    holds scaled linearly, this pass's calls beside the pages (the duplicate-catalog check) and
    its CPU per item."""
    from django.conf import settings

    from catalog.sync import drift

    items = first["items"] * MILLION / variants
    pages = max(math.ceil(items / drift.PAGE_SIZE), 1)
    per_run = min(
        max(math.ceil(MILLION / drift.PAGE_SIZE / runs_per_day), settings.DRIFT_MIN_PAGES_PER_RUN),
        drift.MAX_PAGES_PER_RUN,
    )
    page_calls_here = max(math.ceil(first["items"] / drift.PAGE_SIZE), 1)
    calls = pages + max(first["http_requests"] - page_calls_here, 0)
    passes_per_day = runs_per_day / math.ceil(pages / per_run)
    cpu = first["cpu_seconds"] / max(first["items"], 1) * items
    return {
        "items": round(items),
        "pages_per_run": per_run,
        "graph_calls_per_pass": calls,
        "passes_per_day": round(passes_per_day, 2),
        "graph_calls_per_day": round(calls * passes_per_day),
        "our_cpu_seconds_per_pass": round(cpu, 1),
        "our_cpu_seconds_per_hour": round(cpu * passes_per_day / 24, 2),
        "note": "projected: pages from the items Meta holds scaled linearly, this pass's CPU per item",
    }


def baseline(ctx) -> dict:
    """Per SYNCED item: read it, build our payload, read Meta's item alone, compare, save."""
    from catalog import items
    from catalog.connection.matching import READ_FIELDS, compare
    from catalog.graph_clients import client_for
    from catalog.models import Variant

    catalog = bench_catalog()
    client = client_for(catalog)
    ids = list(synced_variants(catalog).order_by("pk").values_list("pk", flat=True)[: ctx.baseline_items])
    drifted = 0
    started = time.perf_counter()
    for pk in ids:
        variant = Variant.objects.select_related("product", "product__store").get(pk=pk)
        ours = items.meta_item(variant, variant.product, variant.product.store)
        page = client.get(
            f"{catalog.meta_catalog_id}/products",
            fields=READ_FIELDS,
            filter=json.dumps({"retailer_id": {"eq": variant.retailer_id}}),
        )
        rows = page.get("data") or []
        if rows and compare(ours, rows[0]):
            drifted += 1
        variant.save(update_fields=["updated_at"])
    return {"items": len(ids), "loop_seconds": round(time.perf_counter() - started, 3), "drift_found": drifted}
