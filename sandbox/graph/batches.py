"""The Batch API: ``items_batch`` answers at once with a handle; the batch is processed
later, lazily, the first time the catalog is read after its delay has passed.

A batch without delay (the tests' and the benchmarks' setting) is due the moment it
arrives, so it is processed right in the call, from the request lines already parsed
and checked: storing a 5,000-line batch only to read and parse it again on the next
call was most of the sandbox's work. What a client can observe is the same: any later
call on the catalog would have processed it first.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F

from .. import faults
from ..models import AccessToken, ItemsBatch, ProductCatalog
from . import errors
from .ingest import apply_requests
from .params import Params
from .validation import MAX_REQUESTS, ItemRequest, check_request

logger = logging.getLogger(__name__)

ITEM_TYPES = (
    "AUTOMOTIVE_MODEL",
    "DESTINATION",
    "FLIGHT",
    "HOME_LISTING",
    "HOTEL",
    "HOTEL_ROOM",
    "LOCAL_SERVICE_BUSINESS",
    "MEDIA_TITLE",
    "OFFER_ITEM",
    "PRODUCT_ITEM",
    "TRANSACTABLE_ITEM",
    "VEHICLE",
    "VEHICLE_OFFER",
)
# check_batch_request_status shows samples of errors and warnings, not every one.
MAX_SAMPLES = 1000
PRIORITIES = ("HIGH", "MEDIUM", "LOW")


def new_handle() -> str:
    """An opaque ~80 character handle like Meta's."""
    return "Ac" + secrets.token_urlsafe(58)


def _requests_param(params: Params) -> list:
    if params.get("requests") in (None, ""):
        raise errors.param_required("requests")
    requests = params.json("requests")
    if not isinstance(requests, list):
        raise errors.invalid_param("Param requests must be an array")
    if not requests:
        raise errors.invalid_param("Param requests must contain at least one request")
    if len(requests) > MAX_REQUESTS:
        raise errors.invalid_param(
            f"Too many requests in one batch: {len(requests)} (the maximum is {MAX_REQUESTS}). "
            "Split the requests into several items_batch calls."
        )
    return requests


def submit(catalog: ProductCatalog, params: Params, token: AccessToken | None, now: datetime) -> dict:
    """Check a ``POST /{catalog_id}/items_batch`` call and queue it; return Meta's answer."""
    item_type = params.required("item_type")
    if item_type not in ITEM_TYPES:
        raise errors.invalid_param(f'Param item_type must be one of {{{", ".join(ITEM_TYPES)}}} - got "{item_type}"')
    if item_type != "PRODUCT_ITEM":
        raise errors.invalid_param(f"item_type {item_type} is not supported for a {catalog.vertical} catalog")
    raw_requests = _requests_param(params)
    allow_upsert = params.bool("allow_upsert", True)
    checked = [check_request(line, raw) for line, raw in enumerate(raw_requests, start=1)]
    validation_status = []
    for request in checked:
        if request.errors or request.warnings:
            row: dict = {"retailer_id": request.retailer_id}
            row["errors"] = [{"message": issue.message} for issue in request.errors]
            row["warnings"] = [{"message": issue.message} for issue in request.warnings]
            validation_status.append(row)
    if all(request.errors for request in checked):
        # Nothing can be ingested: Meta answers an empty list of handles.
        return {"handles": [], "validation_status": validation_status}
    delay = faults.batch_delay_for(catalog, token)
    due_now = delay <= 0
    batch = ItemsBatch.objects.create(
        catalog=catalog,
        token=token,
        handle=new_handle(),
        item_type=item_type,
        allow_upsert=allow_upsert,
        requests=raw_requests[: settings.SANDBOX_BATCH_REQUESTS_KEPT] if due_now else raw_requests,
        request_count=len(raw_requests),
        process_after=now + timedelta(seconds=delay),
        # Claimed at creation when processed here, so no concurrent reader picks it up.
        claimed_at=now if due_now else None,
        status=ItemsBatch.Status.STARTED if due_now else ItemsBatch.Status.DISPATCHED,
    )
    if due_now:
        _run(batch, checked, now)
    return {"handles": [batch.handle], "validation_status": validation_status}


def process_due(catalog: ProductCatalog, now: datetime) -> int:
    """Process the catalog's batches whose delay has passed, oldest first; return how many."""
    processed = 0
    due = ItemsBatch.objects.filter(
        catalog=catalog, status__in=ItemsBatch.OPEN_STATUSES, claimed_at=None, process_after__lte=now
    )
    # In arrival order; a batch held back (slow processing) does not block later ones.
    for pk in due.order_by("pk").values_list("pk", flat=True):
        processed += _process(pk, now)
    return processed


def _process(pk: int, now: datetime) -> int:
    try:
        with transaction.atomic():
            # Claim it: a concurrent reader that lost the race sees 0 rows and moves on.
            if not ItemsBatch.objects.filter(pk=pk, claimed_at=None).update(
                claimed_at=now, status=ItemsBatch.Status.STARTED
            ):
                return 0
            batch = ItemsBatch.objects.select_related("catalog").get(pk=pk)
            requests = [check_request(line, raw) for line, raw in enumerate(batch.requests, start=1)]
            _apply(batch, requests, now)
            return 1
    except Exception:
        _failed(pk, now)
        return 0


def _run(batch: ItemsBatch, requests: list[ItemRequest], now: datetime) -> None:
    """Process a batch claimed at creation (see the module docstring); failures become status "error"."""
    try:
        with transaction.atomic():
            _apply(batch, requests, now)
    except Exception:
        _failed(batch.pk, now)


def _failed(pk: int, now: datetime) -> None:
    # Meta reports an unexpected failure as status "error"; keep the batch out of the queue.
    logger.exception("Sandbox batch %s failed to process", pk)
    ItemsBatch.objects.filter(pk=pk).update(status=ItemsBatch.Status.ERROR, claimed_at=now, finished_at=now)


def _apply(batch: ItemsBatch, requests: list[ItemRequest], now: datetime) -> None:
    """Apply the checked request lines to the catalog and record the outcome on the batch."""
    outcome = apply_requests(
        batch.catalog,
        requests,
        now=now,
        review_delay=faults.batch_delay_for(batch.catalog, None),
        allow_upsert=batch.allow_upsert,
    )
    batch.errors = outcome.errors
    batch.warnings = outcome.warnings
    batch.ids_of_invalid_requests = outcome.invalid_ids
    batch.error_count, batch.warning_count = len(outcome.errors), len(outcome.warnings)
    batch.num_upserted = outcome.upserted
    batch.num_deleted = outcome.deleted
    # Keep only the first lines for the admin: a million-item sync must not keep
    # every payload it ever sent (request_count still says how many there were).
    batch.requests = batch.requests[: settings.SANDBOX_BATCH_REQUESTS_KEPT]
    batch.status = ItemsBatch.Status.FINISHED
    batch.finished_at = now
    batch.save()


def find(catalog: ProductCatalog, handle: str) -> ItemsBatch:
    batch = ItemsBatch.objects.filter(catalog=catalog, handle=handle).first()
    if batch is None:
        raise errors.invalid_param(f"Invalid handle: no batch request {handle!r} exists for this catalog")
    return batch


def visible_status(batch: ItemsBatch, now: datetime) -> str:
    """``dispatched`` while queued, ``started`` past half the delay, then the stored status."""
    if batch.status != ItemsBatch.Status.DISPATCHED:
        return batch.status
    total = (batch.process_after - batch.created_at).total_seconds()
    waited = (now - batch.created_at).total_seconds()
    return ItemsBatch.Status.STARTED if total > 0 and waited >= total / 2 else ItemsBatch.Status.DISPATCHED


def _issues(rows: list[dict], priority: str | None) -> list[dict]:
    if priority:
        rows = [row for row in rows if row.get("priority") == priority]
    return rows


def status_payload(batch: ItemsBatch, now: datetime, *, error_priority: str | None, load_ids: bool) -> dict:
    """One ``CheckBatchRequestStatus`` object, as Meta's wire format has it."""
    finished = batch.status in (ItemsBatch.Status.FINISHED, ItemsBatch.Status.ERROR)
    found_errors = _issues(batch.errors, error_priority) if finished else []
    found_warnings = _issues(batch.warnings, error_priority) if finished else []

    def sample(rows: list[dict]) -> list[dict]:
        return [{"line": row["line"], "id": row["id"], "message": row["message"]} for row in rows[:MAX_SAMPLES]]

    return {
        "handle": batch.handle,
        "status": visible_status(batch, now),
        "errors_total_count": len(found_errors),
        "errors": sample(found_errors),
        "warnings_total_count": len(found_warnings),
        "warnings": sample(found_warnings),
        "ids_of_invalid_requests": list(batch.ids_of_invalid_requests) if (load_ids and finished) else [],
    }


def count_poll(batch: ItemsBatch) -> None:
    ItemsBatch.objects.filter(pk=batch.pk).update(poll_count=F("poll_count") + 1)
