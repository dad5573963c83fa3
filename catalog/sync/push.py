"""Push: PENDING variants to Meta's Batch API (``POST /{catalog_id}/items_batch``).

One run claims a bounded number of batches per catalog (``SYNC_MAX_BATCHES_PER_RUN``)
so a large tenant cannot hold the workers, and for each: claim and commit, build the
requests, call Meta outside any transaction, record the handle in a new short
transaction. Meta's verdict arrives later through :mod:`catalog.sync.confirm`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog import item_state, items
from catalog.graph_clients import client_for
from catalog.meta.client import GraphClient, RawJSON
from catalog.meta.errors import GraphAPIError
from catalog.models import Catalog, SyncBatch, Variant
from galantis import logcontext

from . import creation, pause, volatile
from .claim import (
    DELETE,
    HIDE,
    SKIP,
    claim_items_batch,
    mark_due_deletions,
    reconnect_if_dead,
    release,
    release_failed_claim,
    shards,
)
from .item_rows import EncodedRequests, held_by_meta, item_sources
from .lifecycle import poll_delay
from .results import finish
from .run_report import CatalogRunReport
from .schedule import shards_waiting_for_feed
from .volatile import claim_volatile_batch
from .writes import SendGate, client_token_last4, record_sent_hashes, write_refusal

logger = logging.getLogger(__name__)

ITEM_TYPE = "PRODUCT_ITEM"


@dataclass
class PushReport(CatalogRunReport):
    """What one push run did for one catalog."""

    batches: list[int] = field(default_factory=list)
    items: int = 0
    skipped_reason: str = ""


def hide_request(retailer_id: str) -> bytes:
    """An UPDATE that only hides the item: Meta keeps it (and its learnings) out of sight."""
    return b'{"data":{"id":%s,"visibility":"staging"},"method":"UPDATE"}' % json.dumps(retailer_id).encode()


def encode_requests(batch: SyncBatch) -> EncodedRequests:
    """The items_batch ``requests`` for ``batch``: one request per item, in pk order.

    Every change of one item travels as one UPDATE carrying its full payload (or one
    DELETE). The item's canonical JSON (the text its payload hash is taken of) is what is
    sent, so each item is encoded once. If an item's data moved on since it was hashed,
    the hash of what is really sent replaces ``in_flight_hash`` so confirmation records
    the truth. An item that fails local validation is never sent as it is: Meta's older
    version is hidden (``visibility: staging`` alone), or nothing is sent.
    """
    if batch.volatile_claimed_at:
        return volatile.encode(batch)  # price and stock only: the budget is tight (catalog.sync.volatile)
    rows, fields = item_sources(batch)
    parts: list[bytes] = []
    rehashed: dict[int, str] = {}
    gate = SendGate(batch)
    for row in rows:
        if row.in_flight_method == SKIP:
            continue
        if row.in_flight_method == DELETE:
            parts.append(b'{"data":{"id":%s},"method":"DELETE"}' % json.dumps(row.retailer_id).encode())
            continue
        item = items.meta_item(row, None, None, fields[row.product_id])
        canonical = items.canonical_bytes(item)
        if not gate.check(row, item, canonical, held_method=HIDE):
            if held_by_meta(row):
                parts.append(hide_request(row.retailer_id))
            continue
        sent_hash = items.hash_of_canonical(canonical)
        sent_mask = items.clearable_mask(item)
        if sent_hash != row.in_flight_hash or sent_mask != row.in_flight_mask:
            rehashed[row.pk] = (sent_hash, sent_mask)
        # An UPDATE names each clearable field the item lacks, empty, which clears it in Meta (a
        # sale that ended, a colour removed); the payload hash stays that of the item itself.
        parts.append(b'{"data":%s%s,"method":"UPDATE"}' % (items.cleared_fields_prefix(sent_mask), canonical[1:]))
    record_sent_hashes(rehashed)
    gate.commit()
    return EncodedRequests(len(parts), b"[" + b",".join(parts) + b"]")


def send_items_batch(catalog: Catalog, batch: SyncBatch, client: GraphClient) -> bool:
    """Send one claimed batch; False when Meta refused the call (the catalog is then paused).

    A failure that is not Meta's answer never leaves the shard locked until the sweeper's
    ``SYNC_CLAIM_TIMEOUT`` when it can be helped: before the call (the database connection
    dropped, a bug building the requests) the claim is released at once; after Meta
    accepted the call, its handle is recorded again on a fresh connection (releasing it
    would send the same products in two overlapping calls). A release raises the failure.
    """
    try:
        requests = encode_requests(batch)
        if not requests.count:
            # Only items kept out of Meta: settled without a call.
            finish(batch, state=SyncBatch.State.FINISHED, handle_status="not sent")
            return True
    except Exception as error:
        release_failed_claim(batch, error)
        raise
    try:
        response = client.post(
            f"{catalog.meta_catalog_id}/items_batch",
            # Off unless the catalog creates by the Batch API: every item sent exists in Meta, and
            # one Meta lost is refused rather than silently recreated outside the feeds.
            {"item_type": ITEM_TYPE, "allow_upsert": catalog.batch_creation, "requests": RawJSON(requests.json)},
            as_json=settings.META_POST_JSON,
        )
    except GraphAPIError as error:
        try:
            release(batch, state=SyncBatch.State.FAILED, message=str(error))
            pause.pause_for_error(catalog, error, token_last4=client_token_last4(catalog))
        except Exception as failure:
            release_failed_claim(batch, failure)  # Meta refused the call: nothing was ingested
            raise
        return False
    try:
        pause.note_success(catalog)
        record_sent(catalog, batch, response, requests.count)
    except DatabaseError:
        if not reconnect_if_dead():
            raise
        logger.warning("Batch %s: recording Meta's answer failed; recording it again", batch.pk, exc_info=True)
        record_sent(catalog, batch, response, requests.count)
    return True


def record_sent(catalog: Catalog, batch: SyncBatch, response: dict, request_count: int) -> None:
    """Record Meta's synchronous answer: the handle to poll, and rows it refused at once."""
    now = timezone.now()
    rejected: dict[str, str] = {}
    warnings: list[dict] = []
    for row in response.get("validation_status") or []:
        retailer_id = str(row.get("retailer_id") or row.get("id") or "")
        messages = [e.get("message", "") for e in row.get("errors") or [] if isinstance(e, dict)]
        if messages and retailer_id:
            rejected[retailer_id] = " | ".join(messages)
        warnings += [{"id": retailer_id, "message": w.get("message", "")} for w in row.get("warnings") or []]
    errors = [{"id": rid, "message": msg} for rid, msg in rejected.items()]
    handles = response.get("handles") or []
    if not handles:
        # "An empty handles array means nothing was ingested."
        finish(
            batch,
            state=SyncBatch.State.FAILED,
            rejected=rejected,
            errors=errors,
            warnings=warnings,
            accept_rest=False,
            handle_status="no handle",
            message=gettext_noop("Meta returned no batch handle: nothing was ingested; the other items are re-queued."),
        )
        if not rejected:
            pause.pause(
                catalog,
                Catalog.PauseKind.ERROR,
                "Meta accepted a Batch API call without a handle and without errors; retrying later.",
                until=now + timedelta(seconds=settings.SYNC_ERROR_PAUSE),
            )
        return
    with transaction.atomic():
        if not SyncBatch.objects.move(
            batch.pk,
            expected=(SyncBatch.State.CLAIMED,),
            state=SyncBatch.State.SENT,
            handle=str(handles[0])[:255],
            sent_at=now,
            heartbeat_at=now,
            next_poll_at=now + poll_delay(0),
            error_count=len(rejected),
            errors=errors,
            stats={"requests": request_count, **({"warnings": warnings[:200]} if warnings else {})},
            attempts=1,
        ):
            # The sweeper released the claim meanwhile (its items are PENDING again and go in a
            # later call); Meta applies this one too, which is harmless: the same data.
            logger.warning(
                "Batch %s was released before Meta's answer was recorded; handle %s not followed", batch.pk, handles[0]
            )
            return
        if rejected:
            item_state.apply_rejections(batch, rejected, Variant.FailureSource.META_BATCH)
    batch.state, batch.handle = SyncBatch.State.SENT, str(handles[0])
    logger.info("Catalog %s batch %s sent: %s requests, handle received", catalog.pk, batch.pk, request_count)


@logcontext.for_catalog
def push_catalog(
    catalog: Catalog,
    *,
    max_batches: int | None = None,
    prefer_feed: bool = True,
    client: GraphClient | None = None,
    only_shards: Collection[int] | None = None,
    volatile: bool = False,
) -> PushReport:
    """Push PENDING variants of ``catalog`` in up to ``max_batches`` Batch API calls.

    With ``prefer_feed``, shards holding a big backlog whose replace feed is due are
    left to that feed (an operator asking for a Batch API push passes False).
    ``only_shards``: push these shards only (a worker that drives one shard).
    ``volatile``: the hourly budget is tight: send only price and stock (catalog.sync.volatile).
    """
    report = PushReport(catalog.pk)
    if refusal := write_refusal(catalog):
        report.skipped_reason = refusal
        return report
    mark_due_deletions(catalog)
    client = client or client_for(catalog)
    budget = max_batches if max_batches is not None else settings.SYNC_MAX_BATCHES_PER_RUN
    # Start at a different shard each minute so every shard gets its turn.
    start = int(timezone.now().timestamp() // 60)
    waiting = shards_waiting_for_feed(catalog) if prefer_feed else set()
    for shard in shards(catalog, start=start):
        if only_shards is not None and shard not in only_shards:
            continue
        if shard in waiting:
            continue  # a big backlog: the replace feed due for this shard carries it
        while len(report.batches) < budget:
            batch = claim_volatile_batch(catalog, shard) if volatile else claim_items_batch(catalog, shard)
            if batch is None:
                break
            report.batches.append(batch.pk)
            report.items += batch.item_count
            if not send_items_batch(catalog, batch, client):
                report.skipped_reason = f"paused: {catalog.paused_reason}"
                return report
        # Updates first (price and stock are what goes stale); new items by a feed once the
        # shard is free (catalog.sync.creation), within the catalog's new-item latency.
        if len(report.batches) < budget and (
            upload := creation.create_by_feed(catalog, shard, client, wait_for_replace=prefer_feed)
        ):
            report.batches.append(upload.pk)
            report.items += upload.item_count
            if upload.state == SyncBatch.State.FAILED:
                report.skipped_reason = f"paused: {catalog.paused_reason}"
                return report
    return report
