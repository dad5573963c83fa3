"""``verdicts``: Meta's per-item verdict (review status, visibility, image fetch, channel review)
read back by the hourly poll, at N variants.

Prepared (not measured): the catalog sent by its replace feed over HTTP, so Meta (the
sandbox) holds every valid item with its review done (approved or rejected) and our
variants are SYNCED. Measured: ``--samples`` (default 5) consecutive runs of the real
poll, ``diagnostics.verdicts.poll_verdicts`` (what the hourly ``poll_catalog`` task runs
after its product search): the rejected items' pages, then lookups by retailer id of the
items whose verdict may change and of live items, oldest check first, at most 50
lookups a run. Per run: Graph calls, verdicts read, our CPU. Projected with the poll's
schedule (``DIAGNOSTICS_POLL_MINUTES``, hourly): Graph calls and our CPU per hour, and
the hours one round over every SYNCED item takes at that pace.

Baseline: the per-item poll a plugin writes to keep every SYNCED item's verdict fresh:
per item one ORM read, one ``GET /{catalog}/products?filter={"retailer_id":{"eq":...}}``
and one save, every hour; measured on ``--baseline-items`` items, extrapolated to every
SYNCED item (its calls per hour = SYNCED items). ``speedup``: verdicts read per second,
ours over the baseline's (the calls-per-hour ratio is not a speedup: the naive poll reads
every item every hour, ours a bounded share of them, see ``calls_per_hour_note``).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter

from ..report import MILLION, Target
from ..seed import connect_meta
from .common import bench_catalog, rate_speedup, sql_per_5000  # noqa: F401
from .sync_common import send_by_replace_feed
from .wave2 import Clock, per, synced_variants

SEED_KIND = "catalog"
SCALES_WITH_CATALOG = False  # figures are per run and per hour, not per catalog pass
DEFAULT_RUNS = 5
TARGETS: list[Target] = []  # issue 21 sets none: measured, with the naive ratio
speedup = rate_speedup


def prepare(ctx) -> dict:
    connect_meta()
    return {}


def prepare_served(ctx) -> dict:
    """Meta holds every valid item, reviewed (the sandbox reviews at once): as after a full sync."""
    catalog = bench_catalog()
    send_by_replace_feed(catalog)
    return {"extra": {"synced": synced_variants(catalog).count()}}


def run(ctx) -> dict:
    from django.utils import timezone

    from catalog.graph_clients import client_for
    from diagnostics.schedules import poll_interval_minutes
    from diagnostics.verdicts import poll_verdicts

    from ..measure import HttpCounter

    catalog = bench_catalog()
    client = client_for(catalog)
    synced = synced_variants(catalog)
    synced_count = synced.count()
    started_at = timezone.now()
    runs = ctx.samples or DEFAULT_RUNS
    calls = read = looked_up = rejected = recorded = missing = 0
    wall = cpu = 0.0
    per_run_calls = []
    for _ in range(runs):
        # Graph calls as sent over HTTP (the empty last page of the rejected search included).
        with Clock() as clock, HttpCounter() as http:
            report = poll_verdicts(catalog, client)
        wall += clock.wall
        cpu += clock.cpu
        calls += http.count
        per_run_calls.append(http.count)
        looked_up += report.looked_up
        rejected += report.rejected
        read += report.looked_up + report.rejected
        recorded += report.recorded
        missing += report.missing
    fresh = synced.filter(verdict_checked_at__gte=started_at).count()
    verdicts = Counter(synced.values_list("verdict", flat=True))
    runs_per_hour = 60 / poll_interval_minutes()
    lookups_per_run = looked_up / runs
    return {
        "items": read,  # verdicts read (items_per_second: over the runs' own wall time)
        "loop_seconds": round(wall, 3),
        "runs": runs,
        "synced": synced_count,
        "graph_calls": calls,
        "graph_calls_per_run": per_run_calls,
        "verdicts_read": read,
        "rejected_read": rejected,
        "looked_up": looked_up,
        "recorded": recorded,
        "missing_in_meta": missing,
        "synced_read_in_these_runs": fresh,
        "verdicts_after": {k or "NONE": v for k, v in verdicts.items()},
        "poll_runs_per_hour": round(runs_per_hour, 2),
        "our_cpu_seconds_per_run": per(cpu, runs),
        "wall_seconds_per_run": per(wall, runs),
        "graph_calls_per_hour": round(calls / runs * runs_per_hour, 1),
        "our_cpu_seconds_per_hour": round(cpu / runs * runs_per_hour, 3),
        "verdicts_read_per_hour": round(read / runs * runs_per_hour),
        # A round over every SYNCED item by the lookups, at the poll's pace (rejected ones are read every run).
        "hours_per_full_round": round(synced_count / (lookups_per_run * runs_per_hour), 1) if lookups_per_run else None,
        "at_1m": at_million(ctx.variants, synced_count, rejected / runs, cpu / max(read, 1), runs_per_hour),
        "calls_per_hour_note": "ours is bounded (50 lookups of 100 ids when calm, up to 400 while items wait "
        "for a verdict, + one page per 500 rejected items a run) whatever the catalog's size; the naive poll "
        "spends one call per SYNCED item an hour "
        "(baseline.extrapolated_http_requests)",
    }


def at_million(variants: int, synced: int, rejected_per_run: float, cpu_per_verdict: float, runs_per_hour: float):
    """The poll at 1,000,000 variants, from its bounds and this run's CPU per verdict read.

    The catalog's shares (SYNCED, rejected) scale linearly; the rejected search reads them
    all (one page per ``PAGE_SIZE``, at least one). The lookups of ``LOOKUP_BATCH`` ids are
    ``MAX_LOOKUPS_PER_RUN`` a run when the catalog is calm (every verdict read: live items
    re-read, oldest first) and up to ``VERDICT_MAX_LOOKUPS_PER_RUN`` while items wait for a
    verdict (after a first sync, every SYNCED item does): both rounds are given.
    """
    from django.conf import settings

    from diagnostics.verdicts import LOOKUP_BATCH, MAX_LOOKUPS_PER_RUN, PAGE_SIZE

    scale = MILLION / variants
    synced_1m, rejected_1m = synced * scale, rejected_per_run * scale
    pages = max(1, math.ceil(rejected_1m / PAGE_SIZE))

    def pace(cap: int) -> dict:
        lookups = min(cap, math.ceil(synced_1m / LOOKUP_BATCH))
        read = min(lookups * LOOKUP_BATCH, synced_1m) + rejected_1m
        return {
            "graph_calls_per_hour": round((lookups + pages) * runs_per_hour, 1),
            "verdicts_read_per_hour": round(read * runs_per_hour),
            "our_cpu_seconds_per_hour": round(read * cpu_per_verdict * runs_per_hour, 2),
            "hours_per_full_round": round(synced_1m / (lookups * LOOKUP_BATCH * runs_per_hour), 1) if lookups else None,
        }

    return {
        "synced": round(synced_1m),
        **pace(MAX_LOOKUPS_PER_RUN),
        "first_sync": pace(settings.VERDICT_MAX_LOOKUPS_PER_RUN),
        "note": "projected from the poll's bounds and this run's CPU per verdict read; the top-level figures "
        "are the calm pace (live items re-read), first_sync the pace while every item waits for a verdict",
    }


def baseline(ctx) -> dict:
    """Per SYNCED item: read it, ask Meta for its verdict alone, save it."""
    from catalog.graph_clients import client_for
    from catalog.models import Variant
    from diagnostics.verdicts import VERDICT_FIELDS

    catalog = bench_catalog()
    client = client_for(catalog)
    ids = list(synced_variants(catalog).order_by("pk").values_list("pk", flat=True)[: ctx.baseline_items])
    started = time.perf_counter()
    for pk in ids:
        variant = Variant.objects.get(pk=pk)
        page = client.get(
            f"{catalog.meta_catalog_id}/products",
            fields=VERDICT_FIELDS,
            filter=json.dumps({"retailer_id": {"eq": variant.retailer_id}}),
        )
        for row in page.get("data") or ():
            variant.review_status = str(row.get("review_status") or "")[:32]
            variant.visibility = str(row.get("visibility") or "")[:16].lower()
            variant.image_fetch_status = str(row.get("image_fetch_status") or "")[:32]
        variant.save(update_fields=["review_status", "visibility", "image_fetch_status", "updated_at"])
    return {
        "items": len(ids),
        "loop_seconds": round(time.perf_counter() - started, 3),
        "baseline_note": "one GET per SYNCED item an hour: extrapolated_http_requests is its Graph calls per hour",
    }


def baseline_total(ctx, run: dict) -> int:
    """The naive poll reads every SYNCED item every hour."""
    return run["synced"]
