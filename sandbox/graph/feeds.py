"""Product feeds and upload sessions (docs/graph-api.md §6).

An upload's file (multipart ``file`` or fetched from ``url``) is streamed to disk
when the call is answered and parsed later, lazily, row by row in bounded chunks,
so a feed of any size needs constant memory. Like Meta, the sandbox answers the upload
and every status poll at once: each call that touches the catalog spends at most
``SANDBOX_FEED_SLICE_SECONDS`` ingesting (one transaction per slice, resumed from the
file position it stopped at), so a million-row file is processed over several polls and
no poll waits for all of it. A replace upload deletes the feed's own items (those it, or
an update upload of it, listed last) that the file no longer lists; ``update_only`` never
deletes. Items the Batch API created belong to no feed until one lists them.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import requests
from django.conf import settings
from django.core.files.move import file_move_safe
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce

from .. import faults
from ..models import AccessToken, FeedUpload, FeedUploadError, ProductCatalog, ProductFeed, ProductItem
from . import errors
from .ingest import apply_requests, chunks
from .params import Params
from .validation import check_request

logger = logging.getLogger(__name__)

ROW_CHUNK = 1000  # feed rows validated and written together
SLICE_LEASE_GRACE = 30  # seconds past the slice budget before another call may take over a stuck slice
SAMPLES_PER_ERROR = 20
# What an upload session says when it broke off (the SANDBOX_FEED_FAIL_AFTER_ROWS fault).
UPLOAD_BROKE_OFF = "The upload could not be completed: an internal error stopped processing. Upload the file again."
FETCH_TIMEOUT = (5, 60)
DELIMITERS = {"COMMA": ",", "TAB": "\t", "SEMICOLON": ";", "BAR": "|", "TILDE": "~"}
ENCODINGS = {"UTF8": "utf-8-sig", "LATIN1": "latin-1", "UTF16LE": "utf-16-le", "UTF16BE": "utf-16-be"}
ENCODINGS.update({"UTF32LE": "utf-32-le", "UTF32BE": "utf-32-be"})
SCHEDULE_INTERVALS = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY")
_IMAGE_COLUMN = re.compile(r"^(image|video)\[(\d+)\]\.(url|tag\[(\d+)\])$")
_PRICE_WITHOUT_CURRENCY = re.compile(r"^\d+(\.\d{1,2})?$")


def feed_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "sandbox_feeds"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- feeds --------------------------------------------------------------------------


def _schedule(params: Params, name: str) -> dict | None:
    value = params.json(name)
    if value is None:
        return None
    if not isinstance(value, dict) or not value.get("url"):
        raise errors.invalid_param(f'Param {name} must be a JSON object with at least a "url"')
    interval = value.get("interval")
    if interval is not None and interval not in SCHEDULE_INTERVALS:
        raise errors.invalid_param(f"{name}.interval must be one of {', '.join(SCHEDULE_INTERVALS)}")
    return {key: val for key, val in value.items() if key != "password"}  # password is write-only


def apply_feed_params(feed: ProductFeed, params: Params) -> None:
    """Copy ``POST /{catalog}/product_feeds`` (or feed update) parameters onto a feed."""
    if "name" in params:
        feed.name = params.str("name").strip()[:255] or feed.name
    for name in ("schedule", "update_schedule"):
        if name in params:
            setattr(feed, name, _schedule(params, name))
    enums = {
        "delimiter": ProductFeed.Delimiter.values,
        "encoding": ProductFeed.Encoding.values,
        "quoted_fields_mode": ("AUTODETECT", "OFF", "ON"),
        "ingestion_source_type": ProductFeed.IngestionSourceType.values,
    }
    for name, choices in enums.items():
        if name in params:
            setattr(feed, name, params.enum(name, choices))
    for name in ("default_currency", "file_name", "country", "item_sub_type", "feed_type"):
        if name in params:
            setattr(feed, name, params.str(name).strip())
    if "deletion_enabled" in params:
        feed.deletion_enabled = params.bool("deletion_enabled", True)


def create_feed(catalog: ProductCatalog, params: Params) -> ProductFeed:
    feed = ProductFeed(catalog=catalog, name=str(params.required("name")).strip()[:255])
    apply_feed_params(feed, params)
    feed.save()
    return feed


# --- uploads ------------------------------------------------------------------------


def _store_file(uploaded: UploadedFile, target: Path) -> None:
    if hasattr(uploaded, "temporary_file_path"):
        # Django already streamed a big upload to a temporary file: move it, don't copy it.
        file_move_safe(uploaded.temporary_file_path(), str(target))
        return
    with target.open("wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)


def _fetch(url: str, target: Path, username: str, password: str) -> str:
    """Stream a feed file from ``url`` to disk; return an error text ("" when fine)."""
    auth = (username, password) if username else None
    try:
        with requests.get(url, stream=True, timeout=FETCH_TIMEOUT, auth=auth) as response:
            if response.status_code != 200:
                return f"The server answered HTTP {response.status_code} for {url}."
            with target.open("wb") as out:
                for chunk in response.iter_content(65536):
                    out.write(chunk)
    except requests.RequestException as exc:
        return f"The file at {url} could not be downloaded ({exc.__class__.__name__})."
    return ""


def create_upload(feed: ProductFeed, params: Params, token: AccessToken | None, now: datetime) -> FeedUpload:
    """``POST /{feed_id}/uploads``: store the file (or fetch the url) and queue the session."""
    uploaded = params.files.get("file") or next(iter(params.files.values()), None)
    url = params.str("url").strip()
    if uploaded is None and not url and feed.schedule:
        url = str(feed.schedule.get("url") or "")
    if uploaded is None and not url:
        raise errors.param_required("url")
    if url and uploaded is None and not url.startswith(("http://", "https://")):
        raise errors.invalid_param("Param url must be an http(s) URL")
    name = Path(uploaded.name).name if uploaded is not None else (url.rsplit("/", 1)[-1] or "feed.csv")
    target = feed_dir() / f"{feed.pk}-{uuid.uuid4().hex}-{re.sub(r'[^A-Za-z0-9._-]', '_', name)[:80]}"
    if uploaded is not None:
        _store_file(uploaded, target)
        fetch_error, method = "", FeedUpload.InputMethod.MANUAL
    else:
        fetch_error = _fetch(url, target, params.str("username"), params.str("password"))
        method = FeedUpload.InputMethod.USER_SERVER_FETCH
    delay = faults.batch_delay_for(feed.catalog, token)
    return FeedUpload.objects.create(
        feed=feed,
        url=url if uploaded is None else "",
        filename=name,
        input_method=method,
        update_only=params.bool("update_only", False),
        file_path=str(target),
        fetch_error=fetch_error,
        process_after=now + timedelta(seconds=delay),
    )


def process_due(catalog: ProductCatalog, now: datetime) -> int:
    """Give each of the catalog's due uploads one slice of work, in arrival order.

    Returns how many uploads changed (a slice ran), so the caller re-reads the node it serves."""
    processed = 0
    due = FeedUpload.objects.filter(feed__catalog=catalog, end_time=None, process_after__lte=now).filter(
        Q(slice_lease_until=None) | Q(slice_lease_until__lt=now)
    )
    for pk in due.order_by("pk").values_list("pk", flat=True):
        processed += _process(pk, now)
    return processed


class _Report:
    """Errors of one upload grouped by message, with counts and a few sample rows."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], dict] = {}
        self.error_count = self.warning_count = 0

    def add(self, severity: str, message: str, priority: str, retailer_id: str = "", row: int | None = None) -> None:
        group = self.groups.setdefault((severity, message), {"priority": priority, "count": 0, "samples": []})
        group["count"] += 1
        if row is not None and len(group["samples"]) < SAMPLES_PER_ERROR:
            group["samples"].append({"retailer_id": retailer_id, "row_number": row})
        if severity == FeedUploadError.Severity.FATAL:
            self.error_count += 1
        else:
            self.warning_count += 1

    def save(self, upload: FeedUpload) -> None:
        """Add this slice's errors to the upload's (counts summed, samples topped up)."""
        known: dict[tuple[str, str], FeedUploadError] = {}
        messages = [message for _, message in self.groups]
        for start in range(0, len(messages), ROW_CHUNK):
            batch = messages[start : start + ROW_CHUNK]
            for error in FeedUploadError.objects.filter(upload=upload, description__in=batch):
                known[(error.severity, error.description)] = error
        new, changed = [], []
        for (severity, message), group in self.groups.items():
            if error := known.get((severity, message)):
                error.total_count += group["count"]
                error.samples = (error.samples + group["samples"])[:SAMPLES_PER_ERROR]
                changed.append(error)
                continue
            new.append(
                FeedUploadError(
                    upload=upload,
                    error_type=_classify(message, severity),
                    summary=message.split(":", 1)[0][:500],
                    description=message,
                    severity=severity,
                    error_priority=group["priority"] if severity == "warning" else "HIGH",
                    total_count=group["count"],
                    samples=group["samples"],
                    affected_surfaces=["Dynamic Ads", "Marketplace"],
                )
            )
        FeedUploadError.objects.bulk_create(new)
        FeedUploadError.objects.bulk_update(changed, ["total_count", "samples"])
        upload.error_count += self.error_count
        upload.warning_count += self.warning_count


def _classify(message: str, severity: str) -> str:
    lowered = message.lower()
    if "required field is missing" in lowered:
        return "PROPERTY_VALUE_MISSING"
    if "unrecognised field" in lowered:
        return "GENERIC_INVALID_FIELD"
    if "missing information" in lowered:
        return "PROPERTY_VALUE_MISSING_WARNING"
    if "sale price" in lowered:
        return "INVALID_SALE_PRICE"
    if "too long" in lowered:
        return "PROPERTY_VALUE_STRING_EXCEEDS_LENGTH"
    if "10800" in message:
        return "RETAILER_ID_USED_BY_GROUP"
    return "PROPERTY_VALUE_FORMAT" if severity == "fatal" else "GENERIC_INVALID_FIELD"


def _process(pk: int, now: datetime) -> int:
    """One slice of an upload's processing; 1 when a slice ran (the upload changed)."""
    budget = settings.SANDBOX_FEED_SLICE_SECONDS
    lease = now + timedelta(seconds=budget + SLICE_LEASE_GRACE)
    # Take the slice: a concurrent call that lost the race updates nothing and moves on.
    taken = (
        FeedUpload.objects.filter(pk=pk, end_time=None)
        .filter(Q(slice_lease_until=None) | Q(slice_lease_until__lt=now))
        .update(slice_lease_until=lease, claimed_at=Coalesce("claimed_at", Value(now)))
    )
    if not taken:
        return 0
    try:
        with transaction.atomic():
            upload = FeedUpload.objects.select_related("feed__catalog").select_for_update(of=("self",)).get(pk=pk)
            report = _Report()
            finished = _ingest(upload, report, now, time.monotonic() + budget)
            report.save(upload)
            if finished:
                upload.end_time = now
            upload.slice_lease_until = None
            upload.save()
    except Exception:
        logger.exception("Sandbox feed upload %s failed to process", pk)
        FeedUpload.objects.filter(pk=pk).update(end_time=now, slice_lease_until=None)
        return 1
    if finished:
        _discard_file(upload.file_path)
    return 1


def _discard_file(path: str) -> None:
    """Processed uploads give their disk space back (the session row keeps the counts)."""
    if path:
        Path(path).unlink(missing_ok=True)


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    raw = path.open("rb")
    head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    if encoding == "AUTODETECT":
        name = "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    else:
        name = ENCODINGS.get(encoding, "utf-8-sig")
    return io.TextIOWrapper(raw, encoding=name, newline="")


def _delimiter(header: str, feed: ProductFeed, filename: str) -> str:
    if feed.delimiter in DELIMITERS:
        return DELIMITERS[feed.delimiter]
    if filename.lower().endswith(".tsv"):
        return "\t"
    return max(DELIMITERS.values(), key=header.count)


@lru_cache(maxsize=256)
def _image_column(column: str) -> re.Match | None:
    """``image[0].url`` / ``image[0].tag[1]`` / ``video[0].url`` columns (matched once per column name)."""
    return _IMAGE_COLUMN.match(column)


def _row_item(row: dict[str, str], feed: ProductFeed) -> dict:
    item: dict = {}
    media: dict[str, dict[int, dict]] = {}
    for column, value in row.items():
        if column is None or value is None:
            continue
        value = value.strip()
        if not value:
            continue  # an empty cell sets nothing
        if match := _image_column(column):
            entry = media.setdefault(match.group(1), {}).setdefault(int(match.group(2)), {})
            if match.group(3) == "url":
                entry["url"] = value
            else:
                entry.setdefault("tag", []).append(value)
            continue
        if column in ("price", "sale_price") and feed.default_currency and _PRICE_WITHOUT_CURRENCY.match(value):
            value = f"{value} {feed.default_currency}"
        item[column] = value
    for field, entries in media.items():
        item[field] = [entries[index] for index in sorted(entries)]
    return item


def _rows(upload: FeedUpload, text: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, str]]]:
    """(file row number, row) for every data row left, from where the last slice stopped.

    The header (row 1) is read again each slice for the column names; lines are pulled
    with ``readline`` (not iteration) so ``text.tell()`` can record where a slice ended.
    """
    header = text.readline()
    delimiter = _delimiter(header, upload.feed, upload.filename)
    columns = [name.strip().lower() for name in next(csv.reader([header], delimiter=delimiter), [])]
    if upload.resume_position:
        text.seek(int(upload.resume_position))
    reader = csv.DictReader(iter(text.readline, ""), fieldnames=columns, delimiter=delimiter)
    yield from enumerate(reader, start=2 + upload.rows_read)


def _ingest(upload: FeedUpload, report: _Report, now: datetime, deadline: float) -> bool:
    """Ingest rows until the file ends (True) or ``deadline`` passes (False, resumable)."""
    feed, catalog = upload.feed, upload.feed.catalog
    if upload.fetch_error:
        report.add("fatal", f"Feed file could not be fetched: {upload.fetch_error}", "HIGH")
        return True
    method = "UPDATE" if upload.update_only else "CREATE"
    review_delay = faults.batch_delay_for(catalog, None)
    try:
        with _open_text(Path(upload.file_path), feed.encoding) as text:
            fail_after = settings.SANDBOX_FEED_FAIL_AFTER_ROWS
            for chunk in chunks(_rows(upload, text), ROW_CHUNK):
                if upload.rows_read == 0 and "id" not in chunk[0][1]:
                    report.add("fatal", "A required field is missing: the feed has no id column.", "HIGH")
                    return True
                if fail_after and upload.rows_read + len(chunk) > fail_after:
                    # The fault: the session breaks off mid-file; rows read so far stay, none is deleted.
                    _ingest_chunk(
                        upload, report, chunk[: max(fail_after - upload.rows_read, 0)], method, now, review_delay
                    )
                    report.add("fatal", UPLOAD_BROKE_OFF, "HIGH")
                    return True
                _ingest_chunk(upload, report, chunk, method, now, review_delay)
                # A short chunk was the file's last: finish now rather than in one more slice.
                if len(chunk) == ROW_CHUNK and time.monotonic() >= deadline:
                    upload.resume_position = str(text.tell())
                    return False
    except (UnicodeDecodeError, csv.Error) as exc:
        report.add("fatal", f"The feed file could not be read: {exc.__class__.__name__}: {exc}", "HIGH")
        return True
    upload.num_detected_items = upload.rows_read
    if upload.rows_read == 0:
        report.add("fatal", "The feed file has no items.", "HIGH")
        return True
    if not upload.update_only and feed.deletion_enabled:
        upload.num_deleted_items = _delete_missing(catalog, feed, upload)
    return True


def _ingest_chunk(
    upload: FeedUpload, report: _Report, chunk: list, method: str, now: datetime, review_delay: float
) -> None:
    """Validate and write one chunk of rows; count them on the upload."""
    feed, catalog = upload.feed, upload.feed.catalog
    requests_ = [
        check_request(row_number, {"method": method, "data": _row_item(row, feed)}) for row_number, row in chunk
    ]
    outcome = apply_requests(
        catalog, requests_, now=now, review_delay=review_delay, feed_id=feed.pk, upload_id=upload.pk
    )
    for issue in outcome.errors:
        report.add("fatal", issue["message"], "HIGH", issue["id"], issue["line"])
    for issue in outcome.warnings:
        report.add("warning", issue["message"], issue["priority"], issue["id"], issue["line"])
    upload.rows_read += len(requests_)
    upload.num_detected_items = upload.rows_read
    upload.num_persisted_items += outcome.upserted
    upload.num_invalid_items += len(outcome.invalid_lines)
    # Items whose row was invalid stay as they were; they are not "missing" from the file.
    invalid_ids = [rid for rid in outcome.invalid_ids if rid]
    for ids in chunks(invalid_ids, ROW_CHUNK):
        ProductItem.objects.filter(catalog=catalog, retailer_id__in=ids).update(seen_in_upload=upload.pk)


def _delete_missing(catalog: ProductCatalog, feed: ProductFeed, upload: FeedUpload) -> int:
    """A replace upload: delete the feed's own items this file did not list.

    An item belongs to the feed that last listed it. One the Batch API created and no feed
    has listed since belongs to none, and no replace upload deletes it: that is Case B
    (docs/meta-ingestion-rules.md, "Creation by feed": a lost Batch API DELETE leaves it in
    the catalog for good).
    """
    missing = ProductItem.objects.filter(catalog=catalog, feed=feed).exclude(seen_in_upload=upload.pk).order_by("pk")
    deleted = 0
    while pks := list(missing.values_list("pk", flat=True)[:ROW_CHUNK]):
        deleted += ProductItem.objects.filter(pk__in=pks).delete()[0]
    return deleted
