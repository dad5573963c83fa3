"""Confirm: poll every sent handle / upload until Meta finishes it, then record the verdict.

``GET /{catalog_id}/check_batch_request_status?handle=...&load_ids_of_invalid_requests=true``
until ``status`` is terminal, with back-off (``SyncBatch.next_poll_at`` / ``poll_count``);
a handle that never finishes, or that Meta forgot, is given up into a retry (its
variants go back to PENDING), never left in limbo. Feed uploads are polled the same way
(:func:`catalog.sync.feeds.poll_upload`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from catalog.graph_clients import client_for
from catalog.meta.client import GraphClient
from catalog.meta.errors import AuthError, GraphAPIError, PermissionDenied
from catalog.models import Catalog, SyncBatch, Variant
from galantis import logcontext

from . import pause
from .claim import SKIP
from .feeds import poll_upload
from .lifecycle import give_up_if_timed_out, poll_failed, reschedule
from .results import finish
from .run_report import CatalogRunReport
from .writes import client_token_last4

logger = logging.getLogger(__name__)

FINISHED = "finished"
GAVE_UP = frozenset({"error", "canceled", "cancelled"})
NO_SAMPLE_MESSAGE = "Meta rejected this item; its message was not in Meta's error sample (see catalog diagnostics)."


@dataclass
class ConfirmReport(CatalogRunReport):
    polled: int = 0
    finished: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)


def rejected_items(batch: SyncBatch, status: dict) -> tuple[dict[str, str], list[dict]]:
    """Retailer id -> Meta's message for every invalid line (samples and the id list)."""
    errors = [e for e in status.get("errors") or [] if isinstance(e, dict)]
    line_ids: list[str] | None = None
    messages: dict[str, list[str]] = defaultdict(list)
    for error in errors:
        retailer_id = str(error.get("id") or "")
        if not retailer_id and error.get("line"):
            if line_ids is None:
                # Lines are 1-based indexes into the requests, which were sent in pk order.
                line_ids = list(
                    Variant.objects.filter(in_flight_batch=batch)
                    .exclude(in_flight_method=SKIP)
                    .order_by("pk")
                    .values_list("retailer_id", flat=True)
                )
            index = int(error["line"]) - 1
            retailer_id = line_ids[index] if 0 <= index < len(line_ids) else ""
        if retailer_id:
            error["id"] = retailer_id
            messages[retailer_id].append(str(error.get("message") or ""))
    for retailer_id in status.get("ids_of_invalid_requests") or []:
        messages.setdefault(str(retailer_id), [])
    rejected = {
        rid: " | ".join(dict.fromkeys(m for m in msgs if m)) or NO_SAMPLE_MESSAGE for rid, msgs in messages.items()
    }
    return rejected, errors


def poll_items_batch(catalog: Catalog, batch: SyncBatch, client: GraphClient) -> str:
    """Poll one items_batch handle; returns the batch's state afterwards."""
    if give_up_if_timed_out(batch):
        return batch.state
    try:
        answer = client.get(
            f"{catalog.meta_catalog_id}/check_batch_request_status",
            handle=batch.handle,
            load_ids_of_invalid_requests=True,
        )
    except GraphAPIError as error:
        return poll_failed(catalog, batch, error, client_token_last4)
    rows = answer.get("data")
    status = rows[0] if isinstance(rows, list) and rows else answer
    handle_status = str(status.get("status") or "").lower()
    if handle_status == FINISHED or handle_status in GAVE_UP:
        rejected, errors = rejected_items(batch, status)
        warnings = [w for w in status.get("warnings") or [] if isinstance(w, dict)]
        gave_up = handle_status in GAVE_UP
        finish(
            batch,
            state=SyncBatch.State.FAILED if gave_up else SyncBatch.State.FINISHED,
            rejected=rejected,
            errors=list(batch.errors or []) + errors,
            warnings=warnings,
            handle_status=handle_status,
            error_total=max(int(status.get("errors_total_count") or 0), len(rejected)) + batch.error_count,
            warning_total=int(status.get("warnings_total_count") or len(warnings)),
            accept_rest=not gave_up,
            message=f"Meta stopped the batch ({handle_status}); items it did not reject were re-queued."
            if gave_up
            else "",
        )
        return batch.state
    reschedule(batch, handle_status=handle_status)
    return batch.state


def poll_batch(catalog: Catalog, batch: SyncBatch, client: GraphClient) -> str:
    if batch.kind == SyncBatch.Kind.ITEMS_BATCH:
        return poll_items_batch(catalog, batch, client)
    return poll_upload(catalog, batch, client)


@logcontext.for_catalog
def confirm_catalog(catalog: Catalog, *, force: bool = False, client: GraphClient | None = None) -> ConfirmReport:
    """Poll the catalog's sent batches that are due (all of them with ``force``)."""
    report = ConfirmReport(catalog.pk)
    if catalog.pause_kind in (Catalog.PauseKind.AUTH, Catalog.PauseKind.PERMISSION) and not (
        pause.resume_if_cause_gone(catalog)
    ):
        return report  # the token cannot read either; the sweeper times handles out if this lasts
    batches = SyncBatch.objects.for_tenant(catalog.tenant_id).filter(catalog=catalog, state=SyncBatch.State.SENT)
    if not force:
        batches = batches.filter(next_poll_at__lte=timezone.now())
    client = client or client_for(catalog)
    for batch in batches.order_by("next_poll_at", "pk"):
        report.polled += 1
        try:
            state = poll_batch(catalog, batch, client)
        except (AuthError, PermissionDenied):
            break
        if state in (SyncBatch.State.FINISHED, SyncBatch.State.FAILED):
            report.finished.append(batch.pk)
        elif state == SyncBatch.State.TIMED_OUT:
            report.retried.append(batch.pk)
    return report
