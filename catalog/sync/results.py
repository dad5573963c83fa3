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

from collections.abc import Iterable, Mapping

from django.db import transaction
from django.db.models import Case, Count, F, Q, TextField, Value, When
from django.utils import timezone

from catalog.models import Catalog, SyncBatch, Variant

from .claim import DELETE, SKIP

Status = Variant.SyncStatus
META_REJECTED = "META_REJECTED"
# Rows per CASE statement when many items are rejected at once (bounded statement size).
REJECT_CHUNK = 500
ERRORS_KEPT = 200  # error samples stored on the batch row
UNCHANGED = Q(payload_hash=F("in_flight_hash"))
# Failed by our own validation (``catalog.items.local_problems``), not by Meta's verdict.
NOT_LOCAL_CODES = ("", META_REJECTED, "NOT_IN_LINKED_CATALOG")
LOCALLY_FAILED = Q(meta_status=Status.FAILED) & ~Q(last_error_code__in=NOT_LOCAL_CODES)


def _released() -> dict:
    return {"in_flight_batch": None, "in_flight_hash": "", "in_flight_method": ""}


def apply_rejections(batch: SyncBatch, rejected: Mapping[str, str]) -> int:
    """FAILED with Meta's message for each rejected retailer id still in ``batch``."""
    now = timezone.now()
    items = list(rejected.items())
    done = 0
    for start in range(0, len(items), REJECT_CHUNK):
        chunk = items[start : start + REJECT_CHUNK]
        messages = Case(
            *(When(retailer_id=rid, then=Value(msg[:5000])) for rid, msg in chunk),
            default=Value(""), output_field=TextField(),
        )
        done += Variant.objects.filter(in_flight_batch=batch, retailer_id__in=[rid for rid, _ in chunk]).update(
            meta_status=Case(When(UNCHANGED, then=Value(Status.FAILED)), default=Value(Status.PENDING)),
            last_error=Case(When(UNCHANGED, then=messages), default=Value(""), output_field=TextField()),
            last_error_code=Case(When(UNCHANGED, then=Value(META_REJECTED)), default=Value("")),
            updated_at=now,
            **_released(),
        )
    return done


def apply_accepted(batch: SyncBatch) -> tuple[int, int, int]:
    """Everything still in ``batch`` was accepted; return (synced, stale, deleted) counts."""
    now = timezone.now()
    in_batch = Variant.objects.filter(in_flight_batch=batch)
    counts = in_batch.aggregate(
        stale=Count("pk", filter=~UNCHANGED), deleted=Count("pk", filter=Q(in_flight_method=DELETE))
    )
    stale = counts["stale"]
    total = in_batch.update(
        # A row Meta cannot accept (local validation failed it) is not what Meta holds.
        synced_hash=Case(When(LOCALLY_FAILED & UNCHANGED, then=F("synced_hash")), default=F("in_flight_hash")),
        meta_status=Case(
            # A replace feed lists every item, the locally invalid ones too (a row left out would
            # delete Meta's older version). Meta rejects them, but reports only a sample of each
            # error, so "not reported" is not "accepted" for them: they keep their local verdict.
            When(LOCALLY_FAILED, then=Value(Status.FAILED)),
            When(UNCHANGED, then=Value(Status.SYNCED)),
            # Local validation failed the new data while it was in flight: keep that verdict.
            When(meta_status=Status.FAILED, then=Value(Status.FAILED)),
            default=Value(Status.PENDING),
        ),
        last_error=Case(
            When(LOCALLY_FAILED, then=F("last_error")), When(UNCHANGED, then=Value("")),
            default=F("last_error"), output_field=TextField(),
        ),
        last_error_code=Case(
            When(LOCALLY_FAILED, then=F("last_error_code")), When(UNCHANGED, then=Value("")),
            default=F("last_error_code"),
        ),
        # Deleted, or deliberately kept out: Meta does not have it. Upserted: it does.
        meta_deleted_at=Case(
            When(in_flight_method__in=[DELETE, SKIP], then=Value(now)), default=Value(None)
        ),
        synced_at=now,
        updated_at=now,
        **_released(),
    )
    return total - stale, stale, counts["deleted"]


def finish(
    batch: SyncBatch,
    *,
    state: str,
    rejected: Mapping[str, str] | None = None,
    errors: Iterable[dict] = (),
    error_total: int | None = None,
    warnings: Iterable[dict] = (),
    warning_total: int | None = None,
    meta_status: str = "",
    stats: dict | None = None,
    message: str = "",
    accept_rest: bool = True,
) -> SyncBatch:
    """Apply Meta's verdict for ``batch`` and close it, in one short transaction.

    ``accept_rest=False`` (Meta gave up on the batch part-way): the items it did not
    reject are released unchanged and go in a later batch.
    """
    now = timezone.now()
    rejected = rejected or {}
    errors, warnings = list(errors)[:ERRORS_KEPT], list(warnings)[:ERRORS_KEPT]
    with transaction.atomic():
        failed = apply_rejections(batch, rejected) if rejected else 0
        if accept_rest:
            synced, stale, deleted = apply_accepted(batch)
        else:
            synced = stale = deleted = 0
            Variant.objects.filter(in_flight_batch=batch).update(updated_at=now, **_released())
        fields = {
            "state": state,
            "meta_status": meta_status,
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
    return batch
