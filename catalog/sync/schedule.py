"""When sync work is due, and the Django-Q2 schedules that look for it.

Meta's ingestion table (docs/meta-ingestion-rules.md, "Ingestion methods": catalog size x update frequency) sets each
catalog's plan: a primary replace feed per shard every hour (every day for shops
updated daily), plus, for shops updated more often than hourly, deltas by the Batch
API (or by update feeds every 15 minutes). ``Catalog.update_frequency``,
``delta_method`` and the interval fields override it per catalog.

The schedules only *look* for due work and enqueue one task per catalog, so a large
tenant's work never holds a small tenant's: every run of a task is bounded.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django_q.models import Schedule

from catalog.models import Catalog, CatalogFeed, ProductSet, SyncBatch, Variant
from galantis.queue import enqueue
from galantis.schedules import Every

from .push_requests import request_push

logger = logging.getLogger(__name__)

Kind = SyncBatch.Kind
# Names are stable: ensure_schedules (galantis.schedules) updates them in place.
SCHEDULES = [
    Every("catalog sync: push pending changes", "catalog.tasks.push_due_catalogs", 1),
    Every("catalog sync: poll batch and upload status", "catalog.tasks.confirm_due_batches", 1),
    Every("catalog sync: replace and update feeds", "catalog.tasks.push_due_feeds", 5),
    Every("catalog sync: sweep stale claims and deletions", "catalog.tasks.sweep_sync", 5),
    # Collections as Meta product sets, within minutes of a change (catalog.sync.product_sets).
    Every("catalog sync: product sets", "catalog.tasks.sync_due_product_sets", 2),
    # The health page reads counts the database maintains; this folds them and proves them.
    Every("catalog counts: fold and prove the variant state counts", "catalog.tasks.reconcile_state_counts", 10),
    # Meta read back for ghosts, drift and duplicate catalogs (catalog.sync.drift).
    Every("catalog drift: read Meta back for ghosts and drift", "catalog.tasks.scan_due_drift", 15),
    # Rejected items whose cause was fixed: another review, within Meta's 10 calls a day (catalog.rereview).
    Every("catalog review: send the re-review queue", "catalog.tasks.rereview_due_catalogs", 60),
    # The per-item timeline keeps TIMELINE_RETENTION_DAYS of events (catalog.timeline.purge_expired).
    Every("catalog timeline: purge expired events", "catalog.tasks.purge_timeline", 60),
    # Once created by migrations 0005 and 0007 (names kept, so existing installs update in place).
    Every("Check Meta catalog tokens (daily)", "catalog.tasks.check_meta_tokens", schedule_type=Schedule.DAILY),
    Every("Send queued Meta item deletions (every 10 minutes)", "catalog.tasks.send_due_item_deletions", 10),
]
# A failed replace feed stops holding back Batch API pushes for this long.
FEED_RETRY_WINDOW = timedelta(hours=1)
# Every product set is looked at again this often, even without a known change (a verdict or a
# staff exclusion changes what Meta holds without touching the collection).
RECHECK_AFTER = timedelta(hours=6)


def writable_catalogs() -> QuerySet[Catalog]:
    """Catalogs the engine may write: enabled, with a Meta id and a connection, not linked read-only."""
    return (
        Catalog.objects.filter(sync_enabled=True, connection__isnull=False)
        .exclude(meta_catalog_id="")
        .exclude(flow=Catalog.Flow.LINK)
    )


def may_run_now(catalog: Catalog, now=None) -> bool:
    """Not paused, or paused by a cause that may have passed (the task re-checks it)."""
    now = now or timezone.now()
    if not catalog.pause_kind:
        return True
    if catalog.pause_kind in (Catalog.PauseKind.AUTH, Catalog.PauseKind.PERMISSION):
        return True  # cheap to re-check whether a new token was saved
    if catalog.pause_kind in (Catalog.PauseKind.MANUAL, Catalog.PauseKind.UNINSTALLED):
        return False
    return catalog.paused_until is None or catalog.paused_until <= now


def due_shards(catalog: Catalog, kind: str, *, now=None) -> list[int]:
    """Shards whose replace (or update) upload is due per the catalog's plan."""
    now = now or timezone.now()
    if kind == Kind.REPLACE_FEED:
        interval, stamp = catalog.effective_replace_feed_interval, "last_replace_at"
    else:
        if catalog.effective_delta_method != Catalog.DeltaMethod.UPDATE_FEED:
            return []
        interval, stamp = catalog.effective_update_feed_interval, "last_update_at"
    last = dict(CatalogFeed.objects.filter(catalog=catalog).values_list("shard", stamp))
    count = max(catalog.shard_count, 1)
    return [s for s in range(count) if last.get(s) is None or last[s] + interval <= now]


def shards_waiting_for_feed(catalog: Catalog, *, now=None) -> set[int]:
    """Shards whose Batch API pushes hold back because a replace feed will carry a big backlog.

    Full syncs of large catalogs go by the replace feed (Meta allows ~100-200 batch
    calls an hour); small deltas still go by the Batch API at once. A replace feed
    that failed recently stops holding anything back, so nothing waits on it forever.
    """
    now = now or timezone.now()
    due = set(due_shards(catalog, Kind.REPLACE_FEED, now=now))
    if not due:
        return set()
    threshold = settings.SYNC_FEED_PREFERRED_ABOVE
    pending = Variant.objects.for_tenant(catalog.tenant_id).filter(catalog=catalog).pending()
    failed = set(
        SyncBatch.objects.filter(
            catalog=catalog,
            kind=Kind.REPLACE_FEED,
            finished_at__gte=now - FEED_RETRY_WINDOW,
            state__in=[SyncBatch.State.FAILED, SyncBatch.State.TIMED_OUT],
        ).values_list("shard", flat=True)
    )
    return {
        shard
        for shard in due - failed
        if pending.in_shard(shard, catalog.shard_count)[: threshold + 1].count() > threshold
    }


def enqueue_due_pushes() -> int:
    """Request a push for every catalog with pending changes that may sync now (once a minute)."""
    queued = 0
    for catalog in writable_catalogs().iterator():
        if not may_run_now(catalog) or catalog.effective_delta_method != Catalog.DeltaMethod.BATCH_API:
            continue
        if Variant.objects.for_tenant(catalog.tenant_id).filter(catalog=catalog).pending().exists():
            # The safety net of push on change: a lost request or task is asked again here.
            request_push(catalog.pk)
            queued += 1
    return queued


def enqueue_due_confirms() -> int:
    """Queue a status poll for every catalog with a sent batch or upload due for a look."""
    catalog_ids = (
        SyncBatch.objects.filter(state=SyncBatch.State.SENT, next_poll_at__lte=timezone.now())
        .order_by()
        .values_list("catalog_id", flat=True)
        .distinct()
    )
    queued = 0
    for catalog_id in catalog_ids:
        enqueue("catalog.tasks.confirm_catalog", catalog_id, group=f"confirm:{catalog_id}")
        queued += 1
    return queued


def enqueue_due_feeds() -> int:
    """Queue replace / update feed uploads whose time has come."""
    queued = 0
    for catalog in writable_catalogs().iterator():
        if not may_run_now(catalog):
            continue
        for kind in (Kind.REPLACE_FEED, Kind.UPDATE_FEED):
            if due_shards(catalog, kind):
                enqueue("catalog.tasks.push_feed", catalog.pk, kind, group=f"feed:{catalog.pk}")
                queued += 1
    return queued


def enqueue_due_product_sets() -> int:
    """Queue a product-set run for every catalog with a set waiting for a write (or due for a look)."""
    stale = timezone.now() - RECHECK_AFTER
    queued = 0
    for catalog in writable_catalogs().iterator():
        if not may_run_now(catalog):
            continue
        sets = ProductSet.objects.for_tenant(catalog.tenant_id).filter(catalog=catalog)
        if sets.filter(needs_sync=True).exists() or sets.filter(synced_at__lt=stale).exists():
            enqueue("catalog.tasks.sync_product_sets", catalog.pk, group=f"product-sets:{catalog.pk}")
            queued += 1
    return queued


def enqueue_due_drift_scans() -> int:
    """Queue a drift-scan run for every catalog the engine writes (one bounded run each)."""
    queued = 0
    for catalog in writable_catalogs().iterator():
        enqueue("catalog.tasks.scan_drift", catalog.pk, group=f"drift:{catalog.pk}")
        queued += 1
    return queued
