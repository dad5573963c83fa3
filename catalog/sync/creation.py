"""New items reach Meta through a feed, not the Batch API (docs/meta-ingestion-rules.md, "Creation by feed").

A batch-created item that a network outage kept out of the replace feed is invisible to
that feed: the feed never deletes it, and the catalog drifts. So an item new to Meta is
created by a feed upload, and the Batch API carries only updates (``allow_upsert`` off):

* when the shard's replace feed is due now, it goes now and carries them;
* when it is due within the catalog's new-item latency (``Catalog.effective_new_item_latency``,
  15 minutes by default), the new items wait for it;
* otherwise an update-only upload of the shard (a one-time direct upload: Meta lets update
  feeds create items, never delete) carries them now, and only them: an update of an item
  Meta holds goes by the Batch API, whose UPDATE clears a field that went away, where an
  empty cell of an update-only row would leave Meta's old value (a sale that ended).

A catalog that keeps ``batch_creation`` (small catalogs whose measured feed latency is too
slow) creates by the Batch API as before; :func:`catalog.sync.claim.waits_for_feed` decides
which items the Batch API leaves to feeds.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from catalog.meta.client import GraphClient
from catalog.models import Catalog, CatalogFeed, SyncBatch, Variant

from .claim import catalog_variants, new_to_meta
from .feeds import upload_feed

logger = logging.getLogger(__name__)

# Creation uploads of one shard are at least this far apart (Meta counts feed uploads too).
MIN_UPLOAD_INTERVAL = timedelta(minutes=1)


def new_items_waiting(catalog: Catalog, shard: int) -> bool:
    """True when ``shard`` holds PENDING items new to Meta that no job has claimed."""
    return (
        catalog_variants(catalog)
        .filter(in_flight_batch__isnull=True, meta_status=Variant.SyncStatus.PENDING)
        .in_shard(shard, catalog.shard_count)
        .filter(new_to_meta(catalog))
        .exists()
    )


def next_replace_at(catalog: Catalog, feed: CatalogFeed | None, now: datetime) -> datetime:
    """When the shard's next replace feed is due (now, if it never ran)."""
    if feed is None or feed.last_replace_at is None:
        return now
    return feed.last_replace_at + catalog.effective_replace_feed_interval


def create_by_feed(
    catalog: Catalog, shard: int, client: GraphClient, *, wait_for_replace: bool = True
) -> SyncBatch | None:
    """Upload an update feed for ``shard`` if it holds new items that should not wait; the upload or None.

    ``wait_for_replace=False`` (an operator's "sync now") never waits for the replace feed.
    """
    if catalog.batch_creation or not new_items_waiting(catalog, shard):
        return None
    now = timezone.now()
    feed = CatalogFeed.objects.filter(catalog=catalog, shard=shard).first()
    kind = SyncBatch.Kind.UPDATE_FEED
    if wait_for_replace:
        due = next_replace_at(catalog, feed, now)
        if due <= now:
            kind = SyncBatch.Kind.REPLACE_FEED  # due anyway: it goes now rather than at the feed schedule's next look
        elif due <= now + catalog.effective_new_item_latency:
            return None  # the shard's replace feed lists them soon enough
        elif feed is not None and feed.last_update_at and feed.last_update_at + MIN_UPLOAD_INTERVAL > now:
            return None
    # An update-only upload carries the new items alone; a due replace feed is the shard's snapshot.
    batch = upload_feed(catalog, shard, kind, client, only_new=kind == SyncBatch.Kind.UPDATE_FEED)
    if batch is not None:
        logger.info("Catalog %s shard %s: new items sent by %s %s", catalog.pk, shard, kind, batch.pk)
    return batch


def waiting_for_creation(catalog: Catalog) -> int:
    """How many PENDING items wait for a feed to create them (for status pages)."""
    if catalog.batch_creation:
        return 0
    return catalog_variants(catalog).filter(Q(meta_status=Variant.SyncStatus.PENDING) & new_to_meta(catalog)).count()
