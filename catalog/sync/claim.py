"""Planning and claiming: which variants go in the next batch or feed, and locking them.

Two locks keep Meta's ordering rules (docs/meta-ingestion-rules.md, "No overlapping calls
for one product": "ensure Batch API calls containing the same product do not overlap in
time"; "a feed and a batch never touch the same shard"):

* **Shard lock** — a ``SyncBatch`` row in state CLAIMED/SENT; the partial unique
  constraint ``syncbatch_one_in_flight_per_shard`` lets only one exist per
  (catalog, shard), whatever its kind. Creating it is the lock; finishing it the unlock.
* **Variant claim** — ``Variant.in_flight_batch``, set by one conditional UPDATE that
  only takes rows still unclaimed (correct on SQLite, where ``select_for_update`` does
  nothing), with ``select_for_update(skip_locked=True)`` on PostgreSQL so concurrent
  workers skip each other's rows instead of waiting.

A variant's shard is ``shard_key % catalog.shard_count`` (a stable crc32 of its
retailer id), so an item always falls in the same shard.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, connections, router, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from catalog import item_state, timeline
from catalog.bulk_values import pk_in
from catalog.models import Catalog, Product, SyncBatch, Variant, VariantEvent

from .sharding import adoption_pending

logger = logging.getLogger(__name__)

MAX_ITEMS_PER_BATCH = 5000  # Meta items_batch limit

# How a claimed variant travels (the item-state writer owns the values).
UPSERT, DELETE, SKIP, HIDE = item_state.UPSERT, item_state.DELETE, item_state.SKIP, item_state.HIDE


def batch_size_for(catalog: Catalog) -> int:
    """Items per Batch API call: the lowest of Meta's limit, the setting and the catalog's own."""
    return max(1, min(MAX_ITEMS_PER_BATCH, settings.SYNC_MAX_ITEMS_PER_BATCH, catalog.max_batch_size))


def shards(catalog: Catalog, *, start: int = 0) -> list[int]:
    """Every shard of the catalog, starting at ``start`` (rotating it spreads the work)."""
    count = max(catalog.shard_count, 1)
    return [(start + n) % count for n in range(count)]


def catalog_variants(catalog: Catalog) -> QuerySet[Variant]:
    return Variant.objects.for_tenant(catalog.tenant_id).filter(catalog=catalog)


def delete_cutoff(catalog: Catalog):
    """Items removed from Shopify before this moment are deleted from Meta."""
    return timezone.now() - timedelta(days=catalog.delete_grace_days)


def _removed_before(catalog: Catalog, cutoff) -> Q:
    removed_products = Product.objects.for_tenant(catalog.tenant_id).filter(removed_at__lt=cutoff).values("pk")
    return Q(removed_at__lt=cutoff) | Q(product_id__in=removed_products)


def _excluded(catalog: Catalog) -> Q:
    # Mirrors catalog.items.is_excluded (plus removed variants): items never to be created.
    excluded_products = (
        Product.objects.for_tenant(catalog.tenant_id)
        .filter(
            Q(excluded_from_meta=True)
            | Q(removed_at__isnull=False)
            | ~Q(status=Product.Status.ACTIVE)
            | Q(published=False)
        )
        .values("pk")
    )
    return Q(removed_at__isnull=False) | Q(product_id__in=excluded_products)


def _in_meta() -> Q:
    """Meta has (or may have) this item: it was accepted once and not deleted since."""
    return (~Q(synced_hash="") | ~Q(meta_item_id="")) & Q(meta_deleted_at__isnull=True)


def _deletable_by(kind: str) -> Q:
    """Items Meta holds that a job of ``kind`` may delete (docs/meta-ingestion-rules.md, "Deletion by the
    creating method").

    Only items a replace feed of ours listed since they were created (so that feed owns
    them and a lost DELETE cannot leave a ghost: Case B), and by the method that created
    them: a replace feed deletes by leaving the item out, the Batch API only what it created.
    A batch-created item stays listed (hidden) in the replace feed until its Batch API DELETE
    is confirmed, so the feed never deletes it by omission first. Another tool's item
    (imported) is ours to delete once our replace feed listed it: that feed owns it then.
    """
    listed = Q(in_replace_feed_at__isnull=False)
    by_batch = Q(created_via=Variant.CreatedVia.BATCH)
    if kind == SyncBatch.Kind.REPLACE_FEED:
        return listed & ~by_batch
    return listed & by_batch


def method_case(catalog: Catalog, kind: str = SyncBatch.Kind.ITEMS_BATCH, *, deletes: bool = True) -> Case:
    """How a claimed variant travels in a job of ``kind``, decided in the claiming UPDATE itself.

    A removed item Meta holds that ``kind`` may not delete yet is listed (hidden) instead:
    in a replace feed that is what lets the feed adopt it before it goes; the Batch API never
    claims one (:func:`waits_for_feed`). ``deletes=False``: an update-only snapshot that
    deletes nothing (after a re-shard, :mod:`catalog.sync.sharding`).
    """
    removed = _removed_before(catalog, delete_cutoff(catalog))
    deleting = [When(removed & _in_meta() & _deletable_by(kind), then=Value(DELETE))] if deletes else []
    return Case(
        *deleting,
        When(removed & _in_meta(), then=Value(UPSERT)),
        When(removed, then=Value(SKIP)),
        When(_excluded(catalog) & ~_in_meta(), then=Value(SKIP)),
        default=Value(UPSERT),
    )


def new_to_meta(catalog: Catalog) -> Q:
    """Items to be created in Meta: not held there, and meant to be live."""
    return ~_in_meta() & ~_excluded(catalog)


def waits_for_feed(catalog: Catalog) -> Q:
    """PENDING items the Batch API leaves to a feed upload (docs/meta-ingestion-rules.md, "Creation by feed").

    New items are created by a feed (unless the catalog keeps ``batch_creation``), so a
    network outage cannot leave a batch-created item outside every replace feed (Case B);
    removed items go by the method that created them, once a replace feed has listed them.
    """
    removed = _removed_before(catalog, delete_cutoff(catalog))
    waiting = removed & _in_meta() & ~_deletable_by(SyncBatch.Kind.ITEMS_BATCH)
    if not catalog.batch_creation:
        waiting |= new_to_meta(catalog)
    return waiting


def lock_shard(catalog: Catalog, shard: int, kind: str) -> SyncBatch | None:
    """Create the CLAIMED batch that locks ``shard``; None when something is in flight there.

    None too while the catalog drains for a new shard count, or when the count changed
    since ``catalog`` was read: the lock is taken first, then the count is read again in
    the same transaction, and a re-shard holds every shard's lock while it changes the count
    (:mod:`catalog.sync.sharding`), so no job ever runs on a stale partition.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            batch = SyncBatch.objects.create(
                tenant_id=catalog.tenant_id,
                catalog=catalog,
                shard=shard,
                kind=kind,
                state=SyncBatch.State.CLAIMED,
                heartbeat_at=now,
            )
            current = Catalog.objects.filter(pk=catalog.pk, shard_count=catalog.shard_count, reshard_to__isnull=True)
            if not current.exists():
                raise _StalePartition
            return batch
    except (IntegrityError, _StalePartition):
        return None


class _StalePartition(Exception):
    """The catalog's shard count changed (or is changing) under a claim: roll it back."""


def claim_rows(
    catalog: Catalog, batch: SyncBatch, candidates: QuerySet[Variant], limit: int | None, *, deletes: bool = True
) -> int:
    """Attach up to ``limit`` still-unclaimed ``candidates`` to ``batch``; return how many."""
    candidates = candidates.filter(in_flight_batch__isnull=True).order_by("pk")
    ids = candidates.values("pk")
    if limit is not None:
        ids = ids[:limit]
    chosen = Q(pk__in=ids)
    if limit is not None and connection.features.has_select_for_update_skip_locked:
        # Lock the rows first and skip those another worker holds. Materialised here:
        # PostgreSQL may re-run a LIMITed FOR UPDATE subquery inside an UPDATE and then
        # take more rows than the limit.
        chosen = pk_in(
            Variant, list(ids.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True))
        )
    # The conditional UPDATE is the real claim: a row another worker took meanwhile no
    # longer matches ``in_flight_batch IS NULL`` and is left alone.
    now = timezone.now()
    claimed = Variant.objects.filter(chosen, in_flight_batch__isnull=True).update(
        in_flight_batch=batch,
        in_flight_hash=F("payload_hash"),
        in_flight_mask=F("payload_mask"),
        in_flight_method=method_case(catalog, batch.kind, deletes=deletes),
        updated_at=now,
    )
    if claimed:  # the per-item timeline: one INSERT ... SELECT for the whole claim
        # The version Meta rejected, listed again by a replace feed (Meta holds an older one): no news.
        timeline.record_from(
            Variant.objects.filter(in_flight_batch=batch).exclude(item_state.RESENT_REJECTED),
            VariantEvent.Kind.SENT,
            at=now,
            batch_id=batch.pk,
            detail=timeline.batch_detail(batch.kind),
            message=Lower("in_flight_method"),
        )
    return claimed


def pending_in_shard(catalog: Catalog, shard: int) -> QuerySet[Variant]:
    """What the next Batch API call of ``shard`` carries: PENDING variants, and the locally
    invalid ones Meta still shows an older version of (they are hidden, nothing else is sent)."""
    variants = catalog_variants(catalog).filter(in_flight_batch__isnull=True).in_shard(shard, catalog.shard_count)
    pending = Q(meta_status=Variant.SyncStatus.PENDING) & ~waits_for_feed(catalog)
    return variants.filter(pending | item_state.needs_hiding())


def claim_items_batch(catalog: Catalog, shard: int, *, limit: int | None = None) -> SyncBatch | None:
    """Lock ``shard`` and claim up to one Batch API call's worth of its PENDING variants."""
    limit = min(limit or batch_size_for(catalog), batch_size_for(catalog))
    if not pending_in_shard(catalog, shard).exists():
        return None
    with transaction.atomic(durable=True):
        batch = lock_shard(catalog, shard, SyncBatch.Kind.ITEMS_BATCH)
        if batch is None:
            return None
        claimed = claim_rows(catalog, batch, pending_in_shard(catalog, shard), limit)
        if not claimed:
            batch.delete()
            return None
        SyncBatch.objects.filter(pk=batch.pk).update(item_count=claimed)
        batch.item_count = claimed
    logger.info("Catalog %s shard %s: claimed %s variants in batch %s", catalog.pk, shard, claimed, batch.pk)
    return batch


def claim_feed(catalog: Catalog, shard: int, kind: str, *, only_new: bool = False) -> SyncBatch | None:
    """Lock ``shard`` for a feed upload and claim what goes in it.

    A replace feed takes every item of the shard that Meta has or should have (its
    file is the shard's full snapshot); an update feed only the PENDING ones, minus
    deletions, which update feeds cannot express. While the catalog's feeds adopt their
    items after a re-shard, a replace snapshot goes update-only and deletes nothing
    (``stats["adopting"]``, :func:`catalog.sync.sharding.adoption_pending`).
    """
    variants = catalog_variants(catalog).in_shard(shard, catalog.shard_count)
    adopting = kind == SyncBatch.Kind.REPLACE_FEED and adoption_pending(catalog)
    if kind == SyncBatch.Kind.REPLACE_FEED:
        # Items already settled outside Meta have nothing to say in the snapshot.
        variants = (
            variants.exclude(meta_deleted_at__isnull=False, meta_status=Variant.SyncStatus.SYNCED)
            .exclude(
                # Locally invalid and already gone from Meta: nothing to list, nothing to delete.
                item_state.LOCALLY_FAILED & Q(meta_deleted_at__isnull=False)
            )
            .exclude(item_state.HELD)
        )  # rejected as it is, never in Meta: listing it again changes nothing
    else:
        variants = variants.filter(meta_status=Variant.SyncStatus.PENDING).exclude(
            _removed_before(catalog, delete_cutoff(catalog))
        )
        if only_new:
            # A creation upload carries only items new to Meta. An update of an item Meta holds
            # goes by the Batch API, whose UPDATE clears a field that went away (a sale that
            # ended); an update-only feed row with an empty cell leaves Meta's old value.
            variants = variants.filter(new_to_meta(catalog))
        else:
            # Nor does any update-only upload carry an item Meta holds with a field its payload
            # lacks: it stays PENDING for the Batch API or the next replace feed, which clear it.
            variants = variants.exclude(_in_meta() & item_state.LACKS_HELD_FIELD)
    with transaction.atomic(durable=True):
        batch = lock_shard(catalog, shard, kind)
        if batch is None:
            return None
        claimed = claim_rows(catalog, batch, variants, None, deletes=not adopting)
        if not claimed:
            # Never upload an empty replace file: Meta would delete the whole shard.
            batch.delete()
            return None
        batch.stats = {"adopting": True} if adopting else {}
        SyncBatch.objects.filter(pk=batch.pk).update(item_count=claimed, stats=batch.stats)
        batch.item_count = claimed
    logger.info("Catalog %s shard %s: claimed %s variants for %s %s", catalog.pk, shard, claimed, kind, batch.pk)
    return batch


def release(batch: SyncBatch, *, state: str, message: str = "") -> int:
    """End ``batch`` without a result: its variants go back to what they were (PENDING stays PENDING)."""
    now = timezone.now()
    with transaction.atomic():
        if not SyncBatch.objects.move(
            batch.pk, state=state, error_message=message[:5000], finished_at=now, next_poll_at=None
        ):
            logger.info("Batch %s was already ended by another worker; not released again", batch.pk)
            return 0
        released = item_state.release_batch(batch, now=now)
    batch.state, batch.error_message = state, message
    if released:
        logger.info("Batch %s %s: released %s variants (%s)", batch.pk, state, released, message)
    return released


def reconnect_if_dead() -> bool:
    """Close the default connection if a failure left it unusable; False inside a transaction.

    After a dropped connection (``pg_terminate_backend``, a restart) every further query on
    it fails; closed, the next query opens a fresh one. Inside ``atomic()`` nothing written
    now would outlive the caller's rollback, so the caller must not try.
    """
    db = connections[router.db_for_write(SyncBatch)]
    if db.in_atomic_block:
        return False
    db.close_if_unusable_or_obsolete()
    return True


def release_failed_claim(batch: SyncBatch, error: BaseException) -> bool:
    """Release ``batch`` if it is still CLAIMED after its push failed; True when released.

    For a push that failed before Meta was called (a dropped database connection between
    the claim's commit and the send, a bug building the requests): its items go back at
    once, so the next push of the shard proceeds instead of waiting ``SYNC_CLAIM_TIMEOUT``
    for the sweeper (issue 15, ``connection_dropped``: the shard stalled 15 minutes). The
    release runs on a fresh connection when the failure killed the old one. The sweeper
    stays the last resort (a killed worker, a database still unreachable): this never raises.
    """
    try:
        if not reconnect_if_dead():
            return False
        with transaction.atomic():
            # Only a claim nobody ended meanwhile (the sweeper, a finish that did commit).
            held = SyncBatch.objects.select_for_update().filter(pk=batch.pk, state=SyncBatch.State.CLAIMED)
            if not held.exists():
                return False
            release(
                batch,
                state=SyncBatch.State.FAILED,
                message=f"The push failed before Meta was called ({error.__class__.__name__}: {error}); "
                "its items were re-queued.",
            )
    except DatabaseError:
        logger.warning(
            "Batch %s: could not release the claim of a failed push; the sweeper will", batch.pk, exc_info=True
        )
        return False
    logger.info("Batch %s: released the claim of a push that failed before Meta was called", batch.pk)
    return True


def mark_due_deletions(catalog: Catalog) -> int:
    """Queue deletion of items removed from Shopify longer ago than the grace period."""
    cutoff = delete_cutoff(catalog)
    candidates = (
        catalog_variants(catalog)
        .filter(meta_deleted_at__isnull=True, in_flight_batch__isnull=True)
        .exclude(meta_status=Variant.SyncStatus.PENDING)
    )
    removed_products = Product.objects.for_tenant(catalog.tenant_id).filter(removed_at__lt=cutoff).values("pk")
    now = timezone.now()
    # Two UPDATEs rather than one with ``removed OR product removed``: each side alone is
    # answered from the partial "removed" indexes; the OR made PostgreSQL scan every variant.
    marked = item_state.mark_removed_for_deletion(candidates.filter(removed_at__lt=cutoff), now=now)
    return marked + item_state.mark_removed_for_deletion(candidates.filter(product_id__in=removed_products), now=now)
