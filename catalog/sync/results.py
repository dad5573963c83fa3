"""Writing Meta's verdict on a batch or upload back to its variants, in bulk.

A constant number of statements per batch whatever its size: one COUNT, one UPDATE
for the rejected items (in chunks only when thousands are rejected), one UPDATE for
the rest, one for the batch row. Rules (ARCHITECTURE "Confirm"):

* rejected by Meta -> FAILED with Meta's message (unless the variant changed in flight:
  the new data may fix it, so it stays PENDING);
* accepted -> SYNCED with ``synced_hash`` = the hash that was sent, unless the variant
  changed while in flight (``payload_hash != in_flight_hash``): then it stays PENDING
  and goes in the next batch. No value flapping, no stale overwrite.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping

from django.db import transaction
from django.utils import timezone

from catalog import item_state
from catalog.models import Catalog, SyncBatch, Variant

from . import push_requests, volatile

logger = logging.getLogger(__name__)

META_REJECTED = "META_REJECTED"
ERRORS_KEPT = 200  # error samples stored on the batch row


# Meta's answer to an UPDATE of an item it does not hold when allow_upsert is false.
MISSING_ITEM_MARKERS = ("does not exist", "allow_upsert")


def missing_in_meta(rejected: Mapping[str, str]) -> set[str]:
    """Retailer ids Meta rejected only because it does not hold the item."""
    return {rid for rid, message in rejected.items() if all(m in message for m in MISSING_ITEM_MARKERS)}


def finish(
    batch: SyncBatch,
    *,
    state: str,
    rejected: Mapping[str, str] | None = None,
    errors: Iterable[dict] = (),
    error_total: int | None = None,
    warnings: Iterable[dict] = (),
    warning_total: int | None = None,
    handle_status: str = "",
    stats: dict | None = None,
    message: str = "",
    accept_rest: bool = True,
    unconfirmed: str = "",
    confirmed: Collection[str] = (),
) -> SyncBatch:
    """Apply Meta's verdict for ``batch`` and close it, in one short transaction.

    ``accept_rest=False`` (Meta gave up on the batch part-way): the items it did not
    reject are released unchanged and go in a later batch. ``unconfirmed``: Meta rejected
    rows it did not name (beyond its error samples): the items it did not name are not
    assumed accepted but re-queued with this message, except the ``confirmed`` retailer ids
    (read back from Meta).
    """
    now = timezone.now()
    rejected = rejected or {}
    errors, warnings = list(errors)[:ERRORS_KEPT], list(warnings)[:ERRORS_KEPT]
    with transaction.atomic():
        # Take the exit first: a batch another worker already ended (the sweeper released it,
        # a timeout re-queued its items) is left as it is, and its items are not touched.
        if not SyncBatch.objects.move(batch.pk, state=state, finished_at=now, next_poll_at=None):
            logger.warning(
                "Batch %s was already ended (%s); Meta's late verdict is not applied",
                batch.pk,
                SyncBatch.objects.filter(pk=batch.pk).values_list("state", flat=True).first(),
            )
            return batch
        source = (
            Variant.FailureSource.META_BATCH
            if batch.kind == SyncBatch.Kind.ITEMS_BATCH
            else Variant.FailureSource.META_FEED
        )
        if batch.kind == SyncBatch.Kind.ITEMS_BATCH and (missing := missing_in_meta(rejected)):
            # An update Meta refused because it no longer holds the item (allow_upsert off):
            # not a data problem; the item is new again and a feed creates it.
            item_state.forget_missing(batch, missing)
            rejected = {rid: msg for rid, msg in rejected.items() if rid not in missing}
        failed = item_state.apply_rejections(batch, rejected, source) if rejected else 0
        if unconfirmed:
            item_state.requeue_unconfirmed(batch, message=unconfirmed, confirmed=confirmed)
        if accept_rest and batch.volatile_claimed_at:
            synced, stale, deleted = volatile.accept(batch)  # price and stock only: still PENDING
        elif accept_rest:
            synced, stale, deleted = item_state.apply_accepted(batch)
        else:
            synced = stale = deleted = 0
            item_state.release_batch(batch, now=now)
        fields = {
            "state": state,
            "handle_status": handle_status,
            "error_count": error_total if error_total is not None else max(len(rejected), len(errors)),
            "warning_count": warning_total if warning_total is not None else len(warnings),
            "synced_count": synced,
            "stale_count": stale,
            "deleted_count": deleted,
            "errors": errors,
            "stats": {**(batch.stats or {}), **(stats or {}), **({"warnings": warnings} if warnings else {})},
            "error_message": message[:5000],
            "finished_at": now,
            "next_poll_at": None,
        }
        SyncBatch.objects.filter(pk=batch.pk).update(**fields)
        Catalog.objects.filter(pk=batch.catalog_id).update(last_sync_at=now)
    for name, value in fields.items():
        setattr(batch, name, value)
    batch.failed_count = failed
    push_requests.after_batch(batch)  # a change that waited for this shard goes next
    return batch
