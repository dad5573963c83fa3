"""``full_sync``: every variant PENDING, pushed through items_batch and confirmed.

The real engine (``catalog.sync.run.sync_now`` in batch mode, waiting for Meta's
verdicts): claim up to 5,000 variants, build and POST the items_batch call over HTTP to
the sandbox, poll ``check_batch_request_status``, write the verdict back in bulk, until
nothing is PENDING. The baseline: one ORM read, one single-item items_batch request and
one save per variant.
"""

from __future__ import annotations

from ..measure import ProgressSampler
from ..report import Target
from ..seed import connect_meta
from .common import bench_catalog, rate_speedup, sql_per_5000  # noqa: F401
from .sync_common import confirmed_items, counts, naive_push

SCALES_WITH_CATALOG = True  # wall time grows with N: projected to 1,000,000
SEED_KIND = "catalog"
TIMEOUT = 6 * 3600
# A catalog this size is configured with shards (Catalog.shard_count): Meta takes Batch API
# calls on disjoint shards at once, so while it ingests one shard's batch the engine
# prepares and records another's (catalog.sync.run.shard_groups). --shards overrides it.
SHARDS = 2
TARGETS = [
    Target("wall_seconds_at_1m", "<=", 120, note="full sync of 1,000,000 variants within 2 minutes"),
    Target("our_cpu_seconds_at_1m", "<=", 15, note="our process's CPU per million variants"),
    Target("peak_rss_mb", "<=", 300),
    Target("sql_constant_per_batch", ">=", 1, note="same number of statements for every full 5,000-item batch"),
]
speedup = rate_speedup


def baseline_total(ctx, run: dict) -> int:
    return run["items"]


def prepare(ctx) -> dict:
    from catalog.models import Catalog

    connect_meta()
    shards = ctx.shards or SHARDS
    # This scenario measures the Batch API path; by default new items are created by a feed
    # (catalog.sync.creation), whose cost at 1M is the replace_feed scenario's.
    Catalog.objects.filter(pk=bench_catalog().pk).update(shard_count=shards, batch_creation=True, auto_shard=False)
    return {"shard_count": shards}


def run(ctx) -> dict:
    from catalog.models import Variant
    from catalog.sync import run as sync_run

    catalog = bench_catalog()
    before = counts(catalog)
    with ProgressSampler(before[Variant.SyncStatus.PENDING], "full sync", lambda: confirmed_items(catalog)):
        result = sync_run.sync_now(catalog, mode="batch", wait=True, timeout=TIMEOUT)
    after = result.status
    if result.timed_out or after["counts"][Variant.SyncStatus.PENDING]:
        raise RuntimeError(f"full sync did not finish: {result.as_dict()}")
    return {
        "items": result.items,
        "status_before": before,
        "status_after": after["counts"],
        "failed_by_meta": after["failed_by_meta"],
        "shard_count": catalog.shard_count,
    }


def baseline(ctx) -> dict:
    from catalog.models import Variant

    ids = list(
        Variant.objects.filter(catalog=bench_catalog())
        .exclude(meta_status=Variant.SyncStatus.FAILED)
        .order_by("pk")
        .values_list("pk", flat=True)[: ctx.baseline_items]
    )
    return naive_push(ids)
