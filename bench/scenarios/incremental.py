"""``incremental``: 1% of the variants changed in Shopify, detected and pushed.

Starting from a synced catalog (sent by its replace feed beforehand, not measured: Meta
holds every item, as after a real full sync), 1% of the variants get a new price in the
database (as an import or webhook writes them). Measured: detection by the real diff
(``catalog.item_state.refresh_variants`` on the rows that were written, exactly what the
importer does after an upsert), then the real push and confirmation of what became
PENDING. The baseline: one ORM read, one single-item request and one save per change.
"""

from __future__ import annotations

from collections import Counter

from ..measure import ProgressSampler
from ..report import Target
from ..seed import connect_meta
from .common import bench_catalog, rate_speedup, sql_per_5000  # noqa: F401
from .sync_common import confirmed_items, naive_push, send_by_replace_feed

SCALES_WITH_CATALOG = True  # wall time grows with N: projected to 1,000,000
SEED_KIND = "catalog"
CHANGED_EVERY = 100  # 1%
CHANGED_REMAINDER = 7
TIMEOUT = 3600
TARGETS = [Target("wall_seconds_at_1m", "<=", 10, note="1% of 1,000,000 variants detected and pushed in 10 s")]
speedup = rate_speedup


def baseline_total(ctx, run: dict) -> int:
    return run["items"]


def changed_variants(catalog):
    from django.db.models.functions import Mod

    from catalog.models import Variant

    return Variant.objects.filter(catalog=catalog).alias(m=Mod("pk", CHANGED_EVERY)).filter(m=CHANGED_REMAINDER)


def prepare(ctx) -> dict:
    connect_meta()
    return {}


def prepare_served(ctx) -> dict:
    """The earlier full sync (by replace feed, over HTTP), then the 1% price change."""
    from django.db.models import F

    catalog = bench_catalog()
    send_by_replace_feed(catalog)
    changed = changed_variants(catalog).update(price=F("price") + 1)
    return {"extra": {"changed": changed}}


def run(ctx) -> dict:
    from catalog import item_state
    from catalog.models import SyncBatch, Variant
    from catalog.sync import run as sync_run

    catalog = bench_catalog()
    detected = item_state.refresh_variants(changed_variants(catalog))
    with ProgressSampler(detected, "incremental", lambda: confirmed_items(catalog)):
        result = sync_run.sync_now(catalog, mode="batch", wait=True, timeout=TIMEOUT)
    if result.timed_out or result.status["counts"][Variant.SyncStatus.PENDING]:
        raise RuntimeError(f"incremental sync did not finish: {result.as_dict()}")
    kinds = Counter()  # items per kind of batch: new items go by an update feed (issue 17)
    for kind, count in SyncBatch.objects.filter(pk__in=result.batches).values_list("kind", "item_count"):
        kinds[kind] += count
    return {
        "items": ctx.extra["changed"],
        "batch_kinds": dict(kinds),
        "detected": detected,
        "pushed": result.items,
        "status_after": result.status["counts"],
    }


def baseline(ctx) -> dict:
    catalog = bench_catalog()
    limit = min(ctx.baseline_items, ctx.extra["changed"])
    ids = list(changed_variants(catalog).order_by("pk").values_list("pk", flat=True)[:limit])
    return naive_push(ids)
