"""Feeds: the periodic primary replace feed (a snapshot of each shard) and update-only feeds.

Each shard has its own primary feed in Meta (``POST /{catalog_id}/product_feeds``, made
when missing), so replace uploads of different shards may run side by side while a
shard's feed upload and its Batch API calls never overlap (the shard lock of
:mod:`catalog.sync.claim`). The file is written row by row from a streamed queryset
into a temporary file — constant memory at a million items — then uploaded with
``POST /{feed_id}/uploads`` (multipart ``file``; ``update_only=true`` for update feeds).
The upload is polled (``GET /{upload_id}``: ``end_time`` appears when done) and its
fatal errors read back with ``GET /{upload_id}/errors?error_priority=HIGH`` and each
error's ``/samples`` (retailer ids).
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog import item_state, items
from catalog.graph_clients import client_for
from catalog.item_state import UNSAMPLED_MESSAGE
from catalog.meta.client import GraphClient
from catalog.meta.errors import GraphAPIError
from catalog.models import Catalog, CatalogFeed, ShopifyStore, SyncBatch, Variant
from galantis import logcontext

from . import pause, sharding
from .claim import DELETE, SKIP, UPSERT, claim_feed, release, release_failed_claim, shards
from .item_rows import ROW_FIELDS, VariantRow, product_fields_for
from .lifecycle import feed_due_again, give_up_if_timed_out, poll_delay, poll_failed, reschedule
from .results import finish
from .run_report import CatalogRunReport
from .schedule import due_shards
from .writes import SendGate, client_token_last4, record_sent_hashes, write_refusal

logger = logging.getLogger(__name__)

Kind = SyncBatch.Kind
# Feed columns are items_batch field names (docs/graph-api.md §6); lists are flattened below.
FEED_COLUMNS = [
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "sale_price",
    "link",
    "image_link",
    "additional_image_link",
    "brand",
    "item_group_id",
    "quantity_to_sell_on_facebook",
    "visibility",
    "product_type",
    "color",
    "size",
    "gender",
    "age_group",
    "fb_product_category",
    "google_product_category",
    "custom_label_0",
    "custom_label_1",
    "custom_label_2",
    "custom_label_3",
    "custom_label_4",
    "internal_label",
    "previous_id",
    "rich_text_description",
    "material",
    "pattern",
    "additional_variant_attribute",
    "sale_price_effective_date",
    *(f"video[{n}].url" for n in range(items.MAX_VIDEOS)),
]
# Columns that flatten a list of objects (Meta's feed spec: video[0].url): column -> (field, index, key).
FLATTENED_COLUMNS = {f"video[{n}].url": ("video", n, "url") for n in range(items.MAX_VIDEOS)}
ROWS_PER_CHUNK = 2000
HEARTBEAT_EVERY = 20000  # rows between heartbeats while a big file is written
SAMPLES_PER_ERROR = 1000
# Of those, the retailer ids kept on the batch's error (its admin page links their variants):
# enough to show what failed without storing every sample in the batch row.
SAMPLES_KEPT_PER_ERROR = 20
# Items new to Meta read back after an upload with unnamed rejected rows (100 per product search).
READ_BACK_MAX = 5000
READ_BACK_BATCH = 100
# An upload's counts, kept on the batch as its stats; read with the upload's id and times.
STAT_FIELDS = (
    "num_detected_items",
    "num_persisted_items",
    "num_deleted_items",
    "num_invalid_items",
    "error_count",
    "warning_count",
)
UPLOAD_FIELDS = ",".join(("id", "start_time", "end_time", *STAT_FIELDS))


@dataclass
class FeedReport(CatalogRunReport):
    """What one feed run did for one catalog."""

    uploads: list[int] = field(default_factory=list)
    rows: int = 0
    skipped_reason: str = ""


def feed_value(column: str, value: object) -> str:
    """One CSV cell: lists as Meta's feed spec flattens them."""
    if value is None:
        return ""
    if isinstance(value, list):
        if column == "internal_label":
            return "[" + ",".join("'" + str(v).replace("'", "") + "'" for v in value) + "]"
        return ",".join(str(v) for v in value)
    return str(value)


def feed_row(item: dict) -> list[str]:
    return [
        feed_value(column, item.get(column) if column not in FLATTENED_COLUMNS else _flattened(item, column))
        for column in FEED_COLUMNS
    ]


def _flattened(item: dict, column: str) -> object:
    field, index, key = FLATTENED_COLUMNS[column]
    values = item.get(field) or []
    return values[index].get(key) if index < len(values) else None


def feed_items(batch: SyncBatch) -> Iterator[tuple[VariantRow, dict]]:
    """(row, Meta item) of every variant ``batch`` lists in its file, streamed in pk order.

    Deletions are rows left out (replace feeds delete what they do not list). Variants
    are read as plain rows and each product's part of the item is built once per chunk,
    as a push does (``catalog.sync.push``): model instances with every timestamp and
    JSON column were most of the writer's CPU. Memory stays flat: one chunk at a time.
    """
    rows = (
        Variant.objects.filter(in_flight_batch=batch)
        .exclude(in_flight_method__in=(SKIP, DELETE))
        .order_by("pk")
        .values_list(*ROW_FIELDS)
        .iterator(chunk_size=ROWS_PER_CHUNK)
    )
    stores: dict[int, ShopifyStore] = {}
    chunk: list[VariantRow] = []
    for values in rows:
        chunk.append(VariantRow._make(values))
        if len(chunk) < ROWS_PER_CHUNK:
            continue
        yield from _chunk_items(chunk, stores)
        chunk = []
    yield from _chunk_items(chunk, stores)


def _chunk_items(chunk: list[VariantRow], stores: dict[int, ShopifyStore]) -> Iterator[tuple[VariantRow, dict]]:
    if not chunk:
        return
    fields = product_fields_for({row.product_id for row in chunk}, stores)
    for row in chunk:
        yield row, items.meta_item(row, None, None, fields[row.product_id])


def write_feed_file(batch: SyncBatch, handle) -> int:
    """Write the CSV for ``batch``'s variants to ``handle`` row by row; return the row count."""
    # The open file itself, not tempfile's wrapper, whose attribute proxy costs a call per row.
    writer = csv.writer(getattr(handle, "file", handle))
    writer.writerow(FEED_COLUMNS)
    rows = 0
    rehashed: dict[int, tuple[str, int]] = {}
    gate = SendGate(batch)
    # A locally invalid item is left out of the file. In a replace feed that deletes Meta's
    # copy when our feed owns it (it listed the item before: a replace file can only list
    # complete, valid rows, and a row Meta rejects would leave the older version live).
    # Otherwise (an update feed, or an item another tool or the Batch API created that no
    # replace feed of ours listed yet) Meta's copy stays as it was, and the next Batch API
    # push hides it (``item_state.needs_hiding``).
    # An update-only snapshot (adopting after a re-shard) deletes nothing, so nothing is left out to go.
    deletes = batch.kind == Kind.REPLACE_FEED and not (batch.stats or {}).get("adopting")
    for variant, item in feed_items(batch):
        canonical = items.canonical_bytes(item)
        left_out = SKIP if deletes and variant.in_replace_feed_at else UPSERT
        if not gate.check(variant, item, canonical, held_method=left_out):
            continue
        sent_hash = items.hash_of_canonical(canonical)
        sent_mask = items.clearable_mask(item)
        if sent_hash != variant.in_flight_hash or sent_mask != variant.in_flight_mask:
            rehashed[variant.pk] = (sent_hash, sent_mask)
            if len(rehashed) >= 500:
                record_sent_hashes(rehashed)
                rehashed = {}
        writer.writerow(feed_row(item))
        rows += 1
        if rows % HEARTBEAT_EVERY == 0:
            SyncBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now())
    record_sent_hashes(rehashed)
    gate.commit()
    return rows


def feed_name(catalog: Catalog, shard: int) -> str:
    if catalog.shard_count <= 1:
        return "Galantis primary feed"
    return f"Galantis primary feed, shard {shard + 1} of {catalog.shard_count}"


def ensure_feed(catalog: Catalog, shard: int, client: GraphClient) -> CatalogFeed:
    """The shard's primary feed in Meta: ours if we have it, Meta's by name, else a new one."""
    feed = CatalogFeed.objects.filter(catalog=catalog, shard=shard).first()
    if feed is not None:
        return feed
    name = feed_name(catalog, shard)
    feed_id = next(
        (
            str(f["id"])
            for f in client.paginate(f"{catalog.meta_catalog_id}/product_feeds", fields="id,name")
            if f.get("name") == name
        ),
        None,
    )
    if feed_id is None:
        feed_id = str(client.post(f"{catalog.meta_catalog_id}/product_feeds", {"name": name})["id"])
    try:
        # A new feed owns nothing yet: no replace upload of the catalog deletes by omission
        # until its first snapshot was read (catalog.sync.sharding.adoption_pending).
        feed = CatalogFeed.objects.create(
            tenant_id=catalog.tenant_id,
            catalog=catalog,
            shard=shard,
            meta_feed_id=feed_id,
            name=name,
            adopting=True,
        )
    except IntegrityError:
        feed = CatalogFeed.objects.get(catalog=catalog, shard=shard)
    if shard == 0:
        Catalog.objects.filter(pk=catalog.pk).update(feed_id=feed.meta_feed_id)
    return feed


def upload_feed(
    catalog: Catalog, shard: int, kind: str, client: GraphClient, *, only_new: bool = False
) -> SyncBatch | None:
    """Claim ``shard``, stream its file, upload it; None when the shard is busy or empty."""
    batch = claim_feed(catalog, shard, kind, only_new=only_new)
    if batch is None:
        return None
    path = ""
    try:
        feed = ensure_feed(catalog, shard, client)
        with tempfile.NamedTemporaryFile(
            "w",
            suffix=".csv",
            prefix=f"feed-{catalog.pk}-{shard}-",
            dir=settings.SYNC_FEED_DIR,
            newline="",
            encoding="utf-8",
            delete=False,
        ) as handle:
            path = handle.name
            rows = write_feed_file(batch, handle)
        adopting = bool((batch.stats or {}).get("adopting"))
        data = {"update_only": True} if kind == Kind.UPDATE_FEED or adopting else {}
        size = os.path.getsize(path)
        with open(path, "rb") as upload:
            answer = client.post(
                f"{feed.meta_feed_id}/uploads",
                data,
                files={"file": (f"{kind}-{catalog.pk}-{shard}.csv", upload, "text/csv")},
            )
    except GraphAPIError as error:
        release(batch, state=SyncBatch.State.FAILED, message=str(error))
        pause.pause_for_error(catalog, error, token_last4=client_token_last4(catalog))
        return batch
    except BaseException as error:
        # Released at once (on a fresh connection if the failure killed ours): the shard is
        # free for the next upload instead of waiting for the sweeper.
        release_failed_claim(batch, error)
        raise
    finally:
        if path and os.path.exists(path):
            os.unlink(path)
    pause.note_success(catalog)
    now = timezone.now()
    SyncBatch.objects.move(
        batch.pk,
        expected=(SyncBatch.State.CLAIMED,),
        state=SyncBatch.State.SENT,
        handle=str(answer.get("id", ""))[:255],
        feed=feed,
        sent_at=now,
        heartbeat_at=now,
        next_poll_at=now + poll_delay(0),
        attempts=1,
        stats={"rows": rows, "bytes": size, **({"adopting": True} if adopting else {})},
    )
    stamp = "last_replace_at" if kind == Kind.REPLACE_FEED else "last_update_at"
    CatalogFeed.objects.filter(pk=feed.pk).update(**{stamp: now})
    Catalog.objects.filter(pk=catalog.pk).update(
        **{"last_replace_feed_at" if kind == Kind.REPLACE_FEED else "last_update_feed_at": now}
    )
    batch.refresh_from_db()
    logger.info("Catalog %s shard %s: %s upload %s sent (%s rows)", catalog.pk, shard, kind, batch.pk, rows)
    return batch


def upload_errors(client: GraphClient, upload_id: str) -> tuple[dict[str, str], list[dict]]:
    """Fatal errors of an upload and the retailer ids in their samples."""
    messages: dict[str, list[str]] = defaultdict(list)
    errors: list[dict] = []
    for error in client.paginate(f"{upload_id}/errors", error_priority="HIGH"):
        errors.append(error)
        if str(error.get("severity", "fatal")).lower() != "fatal" or not error.get("id"):
            continue
        text = ": ".join(p for p in (error.get("summary"), error.get("description")) if p) or "Feed row rejected"
        named: list[str] = []
        for n, sample in enumerate(client.paginate(f"{error['id']}/samples")):
            if n >= SAMPLES_PER_ERROR:
                break
            if retailer_id := sample.get("retailer_id"):
                messages[str(retailer_id)].append(text)
                named.append(str(retailer_id))
        # The batch's page names the items behind each error (Meta's error id means nothing to staff).
        error["retailer_ids"] = named[:SAMPLES_KEPT_PER_ERROR]
    return {rid: " | ".join(dict.fromkeys(msgs)) for rid, msgs in messages.items()}, errors


UNREAD_MESSAGE = (
    "Meta's feed upload {upload} stopped after reading {read} of {rows} rows; this item may not have been "
    "read, so it is sent again through the Batch API."
)


def poll_upload(catalog: Catalog, batch: SyncBatch, client: GraphClient) -> str:
    """Poll one feed upload session; record its counters, errors and the variants' verdicts."""
    if give_up_if_timed_out(batch):
        return batch.state
    try:
        upload = client.get(batch.handle, fields=UPLOAD_FIELDS)
        if not upload.get("end_time"):
            reschedule(batch, handle_status="processing")
            return batch.state
        rejected, errors = upload_errors(client, batch.handle)
        # Meta names only a sample of each error's rows: when it rejected more rows than it
        # named, "not named" is not "accepted". New items are read back (Meta stores no
        # rejected new row, so holding one proves it was accepted); the rest are re-sent.
        unnamed = _int(upload.get("num_invalid_items")) - len(rejected)
        # A session that ended before reading the whole file (it broke off half way) did
        # not accept the rows it never read: they are doubtful in the same way.
        sent, detected = _int((batch.stats or {}).get("rows")), _int(upload.get("num_detected_items"))
        unread_rows = sent - detected if 0 < detected < sent else 0
        confirmed = read_back_new_items(catalog, batch, client, rejected) if unnamed > 0 or unread_rows else set()
    except GraphAPIError as error:
        return poll_failed(catalog, batch, error, client_token_last4)
    stats = {name: upload.get(name) for name in STAT_FIELDS if upload.get(name) is not None}
    rows = (batch.stats or {}).get("rows", 0)
    unread = rows > 0 and not upload.get("num_detected_items") and not upload.get("num_persisted_items")
    finish(
        batch,
        state=SyncBatch.State.FAILED if unread else SyncBatch.State.FINISHED,
        rejected=rejected,
        errors=errors,
        handle_status="finished",
        stats=stats,
        error_total=int(upload.get("error_count") or len(errors)),
        warning_total=int(upload.get("warning_count") or 0),
        accept_rest=not unread,
        message=gettext_noop("Meta read no item from the uploaded file; its items were re-queued.") if unread else "",
        unconfirmed=(
            UNREAD_MESSAGE.format(read=detected, rows=sent, upload=batch.handle)
            if unread_rows
            else UNSAMPLED_MESSAGE.format(n=unnamed, upload=batch.handle)
            if unnamed > 0 and not unread
            else ""
        ),
        confirmed=confirmed,
    )
    if unread:
        feed_due_again(batch)
    elif batch.kind == Kind.REPLACE_FEED:
        Catalog.objects.filter(pk=catalog.pk).update(last_full_sync_at=timezone.now())
        if (batch.stats or {}).get("adopting") and not unread_rows:
            sharding.adopted(batch.feed_id)
    return batch.state


def read_back_new_items(catalog: Catalog, batch: SyncBatch, client: GraphClient, named: Collection[str]) -> set[str]:
    """Retailer ids of the upload's items new to Meta that Meta now holds (at most ``READ_BACK_MAX``)."""
    new_to_meta = (Q(synced_hash="") & Q(meta_item_id="")) | Q(meta_deleted_at__isnull=False)
    candidates = (
        Variant.objects.filter(in_flight_batch=batch)
        .filter(new_to_meta)
        .exclude(in_flight_method__in=(SKIP, DELETE))
        .exclude(item_state.LOCALLY_FAILED)
        .order_by("pk")
        .values_list("retailer_id", flat=True)[:READ_BACK_MAX]
    )
    wanted = [rid for rid in candidates if rid not in named]
    held: set[str] = set()
    for start in range(0, len(wanted), READ_BACK_BATCH):
        chunk = wanted[start : start + READ_BACK_BATCH]
        rows = client.items_by_retailer_id(catalog.meta_catalog_id, chunk, "id,retailer_id", READ_BACK_BATCH)
        held.update(str(row.get("retailer_id")) for row in rows if isinstance(row, dict))
    return held


def _int(value: object) -> int:
    try:
        return max(int(value), 0)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


@logcontext.for_catalog
def push_feeds(catalog: Catalog, kind: str, *, force: bool = False, client: GraphClient | None = None) -> FeedReport:
    """Upload a ``kind`` feed for every due shard (every shard with ``force``)."""
    report = FeedReport(catalog.pk)
    if refusal := write_refusal(catalog):
        report.skipped_reason = refusal
        return report
    client = client or client_for(catalog)
    for shard in shards(catalog) if force else due_shards(catalog, kind):
        batch = upload_feed(catalog, shard, kind, client)
        if batch is None:
            continue
        report.uploads.append(batch.pk)
        report.rows += (batch.stats or {}).get("rows", 0)
        if batch.state == SyncBatch.State.FAILED:
            report.skipped_reason = f"paused: {catalog.paused_reason}"
            break
    return report
