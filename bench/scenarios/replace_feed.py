"""``replace_feed``: the whole catalog streamed to a CSV feed file and uploaded.

The real engine (``catalog.sync.run.sync_now`` in replace_feed mode, waiting): claim
every item of the shard, write the file row by row from a streamed queryset, upload it
(multipart) to the sandbox's ``/{feed_id}/uploads``, poll the upload, write the verdict
back. The baseline: one ORM read and one CSV row write per variant, then the upload, until
Meta has processed it (as the measured run).
"""

from __future__ import annotations

import csv
import os
import tempfile
import time

from ..measure import ProgressSampler
from ..report import Target
from ..seed import connect_meta
from .common import bench_catalog, rate_speedup, sql_per_5000  # noqa: F401
from .sync_common import confirmed_items, mark_all_synced

SCALES_WITH_CATALOG = True  # wall time grows with N: projected to 1,000,000
SEED_KIND = "catalog"
TIMEOUT = 6 * 3600
TARGETS = [
    Target("wall_seconds_at_1m", "<=", 180, note="replace feed of 1,000,000 variants within 3 minutes"),
    Target("peak_rss_mb", "<=", 200),
]
speedup = rate_speedup


def baseline_total(ctx, run: dict) -> int:
    return run["items"]


def prepare(ctx) -> dict:
    connect_meta()
    mark_all_synced(bench_catalog())
    return {}


def run(ctx) -> dict:
    from catalog.sync import run as sync_run

    catalog = bench_catalog()
    with ProgressSampler(ctx.variants, "replace feed", lambda: confirmed_items(catalog)):
        result = sync_run.sync_now(catalog, mode="replace_feed", wait=True, timeout=TIMEOUT)
    if result.timed_out or not result.batches:
        raise RuntimeError(f"replace feed did not finish: {result.as_dict()}")
    return {"items": result.items, "uploads": len(result.batches), "status_after": result.status["counts"]}


def baseline(ctx) -> dict:
    """Per variant: one ORM read, one CSV row; then upload the file and wait for Meta to process it.

    Waiting is what makes the two comparable: the measured run ends when Meta has
    ingested the whole upload, so the baseline's time includes Meta's work on its own
    file too. It uploads to a feed of its own so that its partial file replaces only
    that feed's items, not the measured catalog's.
    """
    from catalog import items
    from catalog.graph_clients import client_for
    from catalog.models import Variant
    from catalog.sync.feeds import FEED_COLUMNS, feed_row

    catalog = bench_catalog()
    client = client_for(catalog)
    ids = list(
        Variant.objects.filter(catalog=catalog).order_by("pk").values_list("pk", flat=True)[: ctx.baseline_items]
    )
    feed_id = client.post(f"{catalog.meta_catalog_id}/product_feeds", {"name": "Naive plugin feed"})["id"]
    fd, path = tempfile.mkstemp(suffix=".csv")
    started = time.perf_counter()
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(FEED_COLUMNS)
            for pk in ids:
                variant = Variant.objects.select_related("product", "product__store").get(pk=pk)
                writer.writerow(feed_row(items.meta_item(variant, variant.product, variant.product.store)))
        with open(path, "rb") as upload:
            upload_id = client.post(f"{feed_id}/uploads", {}, files={"file": ("naive.csv", upload, "text/csv")})["id"]
        while not client.get(upload_id, fields="end_time").get("end_time"):
            time.sleep(0.05)
    finally:
        os.unlink(path)
    return {"items": len(ids), "loop_seconds": round(time.perf_counter() - started, 3)}
