"""What the Meta-facing scenarios share: counts, the naive per-item push, progress."""

from __future__ import annotations

import time

from .common import bench_catalog


def counts(catalog) -> dict:
    from catalog.models import Variant

    return Variant.objects.filter(catalog=catalog).status_counts()


def confirmed_items(catalog) -> int:
    """Items Meta gave a verdict on so far (cheap: summed from the finished batch rows)."""
    from django.db.models import Sum

    from catalog.models import SyncBatch

    done = SyncBatch.objects.filter(catalog=catalog, finished_at__isnull=False).aggregate(n=Sum("item_count"))
    return done["n"] or 0


def mark_all_synced(catalog) -> int:
    """State after an earlier full sync: Meta holds every valid variant's current payload."""
    from django.db.models import F

    from catalog.models import Variant

    return Variant.objects.filter(catalog=catalog, meta_status=Variant.SyncStatus.PENDING).update(
        meta_status=Variant.SyncStatus.SYNCED, synced_hash=F("payload_hash")
    )


def send_by_replace_feed(catalog, *, timeout: float = 6 * 3600) -> None:
    """State after an earlier full sync, as Meta holds it: every valid variant sent by the
    shard's replace feed and confirmed (not measured).

    ``mark_all_synced`` alone is not enough where the measured run sends updates: Meta
    would hold none of the items, and the Batch API's ``allow_upsert=false`` UPDATE of an
    item Meta does not hold is refused and the item created again by a feed (issue 17),
    which is another code path than the one measured.
    """
    from catalog.sync import run as sync_run

    result = sync_run.sync_now(catalog, mode="replace_feed", wait=True, timeout=timeout)
    if result.timed_out:
        raise RuntimeError(f"the initial sync did not finish: {result.as_dict()}")


def naive_push(variant_ids: list[int]) -> dict:
    """The per-item loop a plugin writes: read one variant, send it alone, save its status."""
    from catalog import items
    from catalog.graph_clients import client_for
    from catalog.models import Variant

    catalog = bench_catalog()
    client = client_for(catalog)
    started = time.perf_counter()
    for pk in variant_ids:
        variant = Variant.objects.select_related("product", "product__store").get(pk=pk)
        item = items.meta_item(variant, variant.product, variant.product.store)
        client.post(
            f"{catalog.meta_catalog_id}/items_batch",
            {"item_type": "PRODUCT_ITEM", "allow_upsert": True, "requests": [{"method": "UPDATE", "data": item}]},
        )
        variant.meta_status = Variant.SyncStatus.SYNCED
        variant.synced_hash = items.payload_hash(item)
        variant.save(update_fields=["meta_status", "synced_hash", "updated_at"])
    return {"items": len(variant_ids), "loop_seconds": round(time.perf_counter() - started, 3)}
