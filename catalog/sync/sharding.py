"""Automatic, stable sharding: a catalog's shard count follows its size, and changing it is safe.

Meta asks (docs/meta-ingestion-rules.md, "Large catalogs") catalogs of more than 1M items or
feeds of more than 1 GB to be broken into shards whose jobs never overlap, with every
product always in the same shard. Here:

* **Thresholds.** A shard holds at most ``SYNC_ITEMS_PER_SHARD`` items (500,000: half of
  Meta's 1M, so a shard never reaches it between two checks) and ``SYNC_FEED_BYTES_PER_SHARD``
  bytes of feed file (512 MB: half of Meta's 1 GB, measured from the last replace uploads).
  The count grows to the next power of two that fits, and shrinks only when a quarter of the
  current capacity would do (no flapping around a threshold). Powers of two keep moves small:
  with ``shard_key % 2n``, an item of shard ``s`` stays in ``s`` or moves to ``s + n``.
* **Drain, then re-shard.** A new count is first *requested* (``Catalog.reshard_to``): no new
  job is claimed from then on (``claim.lock_shard`` refuses), jobs in flight finish. The count
  changes in one transaction that takes every shard's lock (a ``RESHARD`` row per shard, under
  the same partial unique constraint that keeps two jobs off one shard): it fails while
  anything is in flight, and a claim racing it either wins first (the re-shard waits for it)
  or sees the new count and backs off. So no two jobs ever touch one product at once, and
  no product changes shard while anything is in flight.
* **Adoption.** After a change, an item may sit in the feed of its old shard. A replace
  upload deletes its own feed's items it does not list, so until every shard's feed has listed
  its new items once (an update-only snapshot: it deletes nothing), no replace upload of the
  catalog deletes by omission (``adoption_pending``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from catalog.models import Catalog, CatalogFeed, SyncBatch, VariantStateCount

logger = logging.getLogger(__name__)

MAX_SHARDS = 256  # Catalog.shard_count's constraint


@dataclass(frozen=True)
class ShardPlan:
    """What the catalog's size asks for."""

    items: int
    feed_bytes: int
    current: int
    wanted: int

    @property
    def changes(self) -> bool:
        return self.wanted != self.current


def _power_of_two_at_least(n: float) -> int:
    count = 1
    while count < n and count < MAX_SHARDS:
        count *= 2
    return count


def shards_for(items: int, feed_bytes: int, current: int) -> int:
    """The shard count for a catalog of ``items`` items and ``feed_bytes`` of feed (see module doc)."""
    per_items = max(settings.SYNC_ITEMS_PER_SHARD, 1)
    per_bytes = max(settings.SYNC_FEED_BYTES_PER_SHARD, 1)
    needed = max(items / per_items, feed_bytes / per_bytes, 1)
    if needed > current:
        return _power_of_two_at_least(needed)
    # Shrink only when a quarter of the capacity would do, to the smallest count that fits twice over.
    if current > 1 and needed * 4 <= current:
        return max(_power_of_two_at_least(needed * 2), 1)
    return current


def feed_bytes(catalog: Catalog) -> int:
    """The size of the catalog's feed file: the sum of each shard feed's last replace upload."""
    last_upload = (
        SyncBatch.objects.filter(feed=OuterRef("pk"), kind=SyncBatch.Kind.REPLACE_FEED, sent_at__isnull=False)
        .order_by("-sent_at")
        .values("stats")[:1]
    )
    feeds = CatalogFeed.objects.filter(catalog=catalog, shard__lt=catalog.shard_count)
    stats = feeds.annotate(last=Subquery(last_upload)).values_list("last", flat=True)
    return sum(int(s.get("bytes") or 0) for s in stats if isinstance(s, dict))


def plan(catalog: Catalog) -> ShardPlan:
    """What shard count the catalog's size asks for now (maintained counts: no COUNT of variants)."""
    items = VariantStateCount.objects.total(catalog_id=catalog.pk)
    size = feed_bytes(catalog)
    return ShardPlan(items, size, catalog.shard_count, shards_for(items, size, catalog.shard_count))


def request(catalog: Catalog, count: int) -> bool:
    """Ask for ``count`` shards: the catalog drains, then :func:`reshard_if_drained` applies it."""
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"A catalog has between 1 and {MAX_SHARDS} shards, not {count}.")
    if count == catalog.shard_count:
        Catalog.objects.filter(pk=catalog.pk).update(reshard_to=None)
        catalog.reshard_to = None
        return False
    Catalog.objects.filter(pk=catalog.pk).update(reshard_to=count, updated_at=timezone.now())
    catalog.reshard_to = count
    logger.info("Catalog %s: %s shards requested (now %s); draining", catalog.pk, count, catalog.shard_count)
    return True


class _InFlight(Exception):
    """A shard still has a job in flight: the re-shard waits."""


def reshard_if_drained(catalog: Catalog) -> bool:
    """Apply the requested shard count if nothing is in flight; True when the count changed."""
    catalog.refresh_from_db(fields=["shard_count", "reshard_to"])
    target, current = catalog.reshard_to, catalog.shard_count
    if target is None:
        return False
    now = timezone.now()
    try:
        with transaction.atomic(durable=True):
            for shard in range(max(target, current)):
                try:
                    with transaction.atomic():
                        SyncBatch.objects.create(
                            tenant_id=catalog.tenant_id,
                            catalog=catalog,
                            shard=shard,
                            kind=SyncBatch.Kind.RESHARD,
                            state=SyncBatch.State.CLAIMED,
                            heartbeat_at=now,
                        )
                except IntegrityError:
                    raise _InFlight from None
            changed = Catalog.objects.filter(pk=catalog.pk, shard_count=current, reshard_to=target).update(
                shard_count=target, reshard_to=None, updated_at=now
            )
            if not changed:
                raise _InFlight
            CatalogFeed.objects.filter(catalog=catalog).update(adopting=True)
            # The locks end with the transaction: never committed, never seen by anyone.
            SyncBatch.objects.filter(catalog=catalog, kind=SyncBatch.Kind.RESHARD).delete()
    except _InFlight:
        logger.info("Catalog %s: re-shard to %s waits for jobs in flight", catalog.pk, target)
        return False
    catalog.shard_count, catalog.reshard_to = target, None
    logger.info("Catalog %s: %s shards (was %s); every shard's feed adopts its items next", catalog.pk, target, current)
    return True


def adoption_pending(catalog: Catalog) -> bool:
    """True until every shard's feed has listed its items since the last change of shard count.

    Until then a replace upload is update-only and deletes nothing: an item that moved shard
    may still belong to its old shard's feed, whose replace upload would delete it.
    """
    feeds = CatalogFeed.objects.filter(catalog=catalog, shard__lt=catalog.shard_count)
    return feeds.filter(adopting=True).exists() or feeds.count() < catalog.shard_count


def adopted(feed_id: int | None) -> None:
    """A full snapshot of this feed's shard was read by Meta: the feed now owns its items."""
    if feed_id is not None:
        CatalogFeed.objects.filter(pk=feed_id).update(adopting=False)


def maintain(catalog: Catalog) -> bool:
    """The sweeper's step: ask for the count the size needs (``auto_shard``), apply a drained request.

    True when the shard count changed.
    """
    if catalog.reshard_to is None and catalog.auto_shard:
        wanted = plan(catalog)
        if wanted.changes:
            request(catalog, wanted.wanted)
    return reshard_if_drained(catalog)
