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
# Issue 21: our own part (claim, stream, upload) within 90 s; Meta's ingestion of the file is
# Meta's time, done here by the sandbox on the same two cores (wall_seconds_at_1m beside it,
# the first target of 3 minutes end to end kept as a figure).
TARGETS = [
    Target("our_seconds_at_1m", "<=", 90, note="claim, write and upload the file of 1,000,000 variants"),
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
    from django.utils import timezone

    from catalog.models import SyncBatch
    from catalog.sync import run as sync_run

    catalog = bench_catalog()
    started = timezone.now()
    with ProgressSampler(ctx.variants, "replace feed", lambda: confirmed_items(catalog)):
        result = sync_run.sync_now(catalog, mode="replace_feed", wait=True, timeout=TIMEOUT)
    if result.timed_out or not result.batches:
        raise RuntimeError(f"replace feed did not finish: {result.as_dict()}")
    # Our own part: from the start until the last upload's file was sent (claim, stream, POST).
    # The write-back of Meta's verdicts after its ingestion is not in it (one UPDATE per shard).
    uploaded = (
        SyncBatch.objects.filter(pk__in=result.batches, sent_at__isnull=False)
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)
        .first()
    )
    return {
        "items": result.items,
        "uploads": len(result.batches),
        "status_after": result.status["counts"],
        "our_seconds": round((uploaded - started).total_seconds(), 2) if uploaded else None,
    }


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
