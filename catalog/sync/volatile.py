"""Volatile fields first: when the hourly budget is tight, price and stock go ahead.

Meta's rules (docs/meta-ingestion-rules.md, "Freshness"): stale stock oversells and a stale
price starts a dispute, while a new title can wait. With few ``items_batch`` calls left this
hour (:mod:`catalog.sync.budget`), a push sends, for the items Meta already holds, an UPDATE
carrying only ``availability``, ``price``, ``sale_price`` and
``quantity_to_sell_on_facebook`` (Meta changes only the fields an UPDATE names). The items
stay PENDING, since Meta does not hold their full payload yet, and an update feed (no Batch
API call) carries the rest.

A variant is sent this way once per change: the batch records its claim time
(``SyncBatch.volatile_claimed_at``) and the next volatile call of the shard takes only
variants changed after it (a change writes ``updated_at``; settling a volatile call
does not).
"""

from __future__ import annotations

import json
import logging
from functools import partial

from django.db import transaction
from django.db.models import BigIntegerField, Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog import item_state, items, timeline
from catalog.models import Catalog, SyncBatch, Variant, VariantEvent
from galantis.queue import enqueue

from . import claim
from .item_rows import EncodedRequests, item_sources
from .writes import record_sent_hashes

logger = logging.getLogger(__name__)

# What a volatile UPDATE names: an absent optional one is sent empty, which clears it in Meta.
SENT_FIELDS = ("availability", "price", "sale_price", "quantity_to_sell_on_facebook")
CLEARED_WHEN_ABSENT = ("sale_price", "quantity_to_sell_on_facebook")
# Their bits in the clearable fields' masks: after a volatile call Meta holds exactly those sent.
CLEARED_BITS = items.clearable_bits(CLEARED_WHEN_ABSENT)


def last_volatile_claim(catalog: Catalog, shard: int):
    """When the shard's last settled volatile call was claimed (None: never)."""
    return (
        SyncBatch.objects.filter(
            catalog=catalog,
            shard=shard,
            kind=SyncBatch.Kind.ITEMS_BATCH,
            state=SyncBatch.State.FINISHED,
            volatile_claimed_at__isnull=False,
        )
        .order_by("-volatile_claimed_at")
        .values_list("volatile_claimed_at", flat=True)
        .first()
    )


def candidates(catalog: Catalog, shard: int):
    """PENDING items Meta holds, live, changed since the shard's last volatile call."""
    variants = (
        claim.catalog_variants(catalog)
        .pending()
        .in_shard(shard, catalog.shard_count)
        .filter(excluded=False, removed_at__isnull=True, meta_deleted_at__isnull=True)
        .filter(~Q(synced_hash="") | ~Q(meta_item_id=""))
    )
    if (since := last_volatile_claim(catalog, shard)) is not None:
        variants = variants.filter(updated_at__gt=since)
    return variants


def claim_volatile_batch(catalog: Catalog, shard: int) -> SyncBatch | None:
    """Lock ``shard`` and claim up to one call's worth of items whose price and stock go first."""
    pending = candidates(catalog, shard)
    if not pending.exists():
        return None
    with transaction.atomic(durable=True):
        batch = claim.lock_shard(catalog, shard, SyncBatch.Kind.ITEMS_BATCH)
        if batch is None:
            return None
        # The claim helper is the lead's one conditional UPDATE (safe with many workers).
        claimed = claim.claim_rows(catalog, batch, pending, claim.batch_size_for(catalog))
        if not claimed:
            batch.delete()
            return None
        # After the claim wrote updated_at: later changes are newer than this.
        claimed_at = timezone.now()
        SyncBatch.objects.filter(pk=batch.pk).update(item_count=claimed, volatile_claimed_at=claimed_at)
        batch.item_count, batch.volatile_claimed_at = claimed, claimed_at
    logger.info("Catalog %s shard %s: %s variants claimed for a volatile-first call", catalog.pk, shard, claimed)
    return batch


def volatile_request(item: dict) -> bytes:
    """The UPDATE naming only the volatile fields of ``item``."""
    data = {"id": item["id"]}
    for name in SENT_FIELDS:
        if name in item:
            data[name] = item[name]
        elif name in CLEARED_WHEN_ABSENT:
            data[name] = ""
    return json.dumps({"data": data, "method": "UPDATE"}, separators=(",", ":")).encode()


def encode(batch: SyncBatch):
    """The items_batch ``requests`` of a volatile call (see :func:`catalog.sync.push.encode_requests`).

    An item that fails local validation is left out: the full path hides it.
    """
    rows, fields = item_sources(batch)
    parts: list[bytes] = []
    sent: dict[int, tuple[None, int]] = {}
    for row in rows:
        if row.in_flight_method != claim.UPSERT:
            continue
        item = items.meta_item(row, None, None, fields[row.product_id])
        if items.local_problems(item):
            sent[row.pk] = (None, items.ALL_CLEARABLE)  # not sent: Meta may still hold either field
            continue
        if (mask := items.clearable_mask(item)) != row.in_flight_mask:
            sent[row.pk] = (None, mask)  # changed since the claim: accept() reads what was sent
        parts.append(volatile_request(item))
    record_sent_hashes(sent)
    return EncodedRequests(len(parts), b"[" + b",".join(parts) + b"]")


def accept(batch: SyncBatch) -> tuple[int, int, int]:
    """Meta took the volatile fields: the items leave the batch still PENDING; an update feed follows.

    ``updated_at`` is left as the claim wrote it, so only later changes go in the next
    volatile call. Returns (synced, stale, deleted) like ``apply_accepted``: none synced.
    """
    in_batch = Variant.objects.filter(in_flight_batch=batch)
    timeline.record_from(
        in_batch,
        VariantEvent.Kind.ACCEPTED,
        batch_id=batch.pk,
        detail={"via": batch.kind, "fields": list(SENT_FIELDS)},
        message=gettext_noop("price and stock only"),
    )
    # Meta now holds the sale price and quantity as sent (an absent one was cleared); its other
    # fields are as they were. Left out of the call (locally invalid): Meta's copy is unchanged.
    sent = Q(in_flight_method=claim.UPSERT) & ~item_state.LOCALLY_FAILED
    in_batch.update(
        held_mask=Case(
            When(sent, then=F("held_mask").bitand(~CLEARED_BITS).bitor(F("in_flight_mask").bitand(CLEARED_BITS))),
            default=F("held_mask"),
            output_field=BigIntegerField(),
        ),
        **item_state.released(),
    )
    transaction.on_commit(partial(request_feed, batch.catalog_id), robust=True)
    return 0, 0, 0


def request_feed(catalog_id: int) -> None:
    """Queue the update feed that carries what a volatile call left PENDING (no Batch API call)."""
    enqueue("catalog.tasks.push_feed", catalog_id, SyncBatch.Kind.UPDATE_FEED, True, group=f"feed:{catalog_id}")
