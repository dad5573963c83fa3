"""The re-review queue (issue 19 part 3): rejected items whose cause was fixed get another review.

Meta's API for it is ``POST /{catalog_id}/additional_reviews`` ("Product Catalog Additional
Reviews" in the Marketing API reference): an appeal of an integrity rejection, possible only
after the item was rejected and only once per item, up to 100 items a call with an optional
short rationale in English, and 10 calls a day per catalog. Re-sending a changed item also
makes Meta review it again (reviews are triggered "when new products are introduced or their
attributes change"), so the queue is for what that did not clear:

* **fixed** — an item rejected in review whose payload changed and was accepted again since,
  and that Meta's review still rejects (found by :func:`queue_fixed` from the timeline);
* **staff** — staff asked (admin action "Request another review").

Requests wait as ``ReReviewRequest`` rows (one per variant, ever: Meta grants one additional
review per item) and :func:`send_due` sends them oldest first, at most
``REREVIEW_CALLS_PER_DAY`` calls of ``REREVIEW_ITEMS_PER_CALL`` items per catalog per 24 hours.
The outcome reaches the timeline as the verdict the next poll reads (live, or rejected again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from catalog.graph_clients import client_for
from catalog.sync.schedule import writable_catalogs
from galantis.queue import enqueue

from . import timeline
from .meta.client import GraphClient
from .meta.errors import GraphAPIError, InvalidRequest
from .models import Catalog, ReReviewRequest, Variant, VariantEvent

log = logging.getLogger(__name__)
State = ReReviewRequest.State
Event = VariantEvent.Kind
RATIONALE = "The cause of the rejection was corrected in the product data; please review the item again."


def rejected(variants: QuerySet[Variant]) -> QuerySet[Variant]:
    """Variants Meta holds and its review rejected (only those may be reviewed again)."""
    return variants.filter(meta_status=Variant.SyncStatus.SYNCED, verdict=Variant.Verdict.REJECTED)


def fixed_since_rejection(variants: QuerySet[Variant]) -> QuerySet[Variant]:
    """Rejected variants whose timeline shows a payload accepted after an earlier review rejection."""
    rejected_before = VariantEvent.objects.filter(
        variant_id=OuterRef("variant_id"), kind=Event.REVIEW_REJECTED, at__lt=OuterRef("at")
    )
    accepted_after = VariantEvent.objects.filter(variant_id=OuterRef("pk"), kind=Event.ACCEPTED).filter(
        Exists(rejected_before)
    )
    return rejected(variants).filter(Exists(accepted_after))


def _enqueue(variants: QuerySet[Variant], reason: str, by: str = "") -> int:
    """Queue a request for each of ``variants`` that never had one; return how many were queued."""
    ids = list(
        variants.exclude(Exists(ReReviewRequest.objects.filter(variant_id=OuterRef("pk")))).values_list(
            "pk", "tenant_id", "catalog_id"
        )
    )
    if not ids:
        return 0
    rows = [
        ReReviewRequest(
            tenant_id=t, catalog_id=c, variant_id=pk, reason=reason, requested_by=by[:150], message=RATIONALE
        )
        for pk, t, c in ids
        if c is not None
    ]
    with transaction.atomic():
        ReReviewRequest.objects.bulk_create(rows, batch_size=timeline.WRITE_BATCH, ignore_conflicts=True)
        timeline.record_from(
            Variant.objects.filter(pk__in=[r.variant_id for r in rows]),
            Event.REREVIEW_QUEUED,
            detail={"reason": reason, **({"by": by} if by else {})},
        )
    return len(rows)


def queue_fixed(catalog: Catalog) -> int:
    """Queue the catalog's rejected items whose cause was fixed (accepted again since); return how many."""
    return _enqueue(fixed_since_rejection(Variant.objects.filter(catalog=catalog)), ReReviewRequest.Reason.FIXED)


def request_review(variants: QuerySet[Variant], *, by: str) -> tuple[int, int]:
    """Staff ask for another review; return (queued, skipped: not rejected or already requested)."""
    total = variants.count()
    queued = _enqueue(rejected(variants), ReReviewRequest.Reason.STAFF, by)
    return queued, total - queued


@dataclass
class SendReport:
    calls: int = 0
    sent: int = 0
    refused: int = 0
    cancelled: int = 0
    left: int = 0
    errors: list[str] = field(default_factory=list)


def calls_today(catalog: Catalog, now: datetime) -> int:
    """Calls made to additional_reviews for the catalog in the last 24 hours (one sent_at per call)."""
    return (
        ReReviewRequest.objects.filter(catalog=catalog, sent_at__gt=now - timedelta(days=1))
        .values("sent_at")
        .distinct()
        .count()
    )


def send_due(catalog: Catalog, client: GraphClient, *, now: datetime | None = None) -> SendReport:
    """Send the catalog's queued requests within Meta's limits (calls a day, items a call)."""
    now = now or timezone.now()
    report = SendReport()
    queued = ReReviewRequest.objects.filter(catalog=catalog, state=State.QUEUED)
    # No longer rejected (fixed and approved meanwhile, or gone): nothing to ask.
    stale = queued.exclude(variant__in=rejected(Variant.objects.filter(catalog=catalog)))
    report.cancelled = stale.update(state=State.CANCELLED)
    budget = max(settings.REREVIEW_CALLS_PER_DAY - calls_today(catalog, now), 0)
    size = max(min(settings.REREVIEW_ITEMS_PER_CALL, 100), 1)
    while report.calls < budget:
        chunk = list(queued.order_by("created_at", "pk").select_related("variant")[:size])
        if not chunk:
            break
        sent_at = now + timedelta(microseconds=report.calls)  # one distinct sent_at per call
        ids = [r.variant.meta_item_id or r.variant.retailer_id for r in chunk]
        pks = [r.pk for r in chunk]
        report.calls += 1
        try:
            client.post(
                f"{catalog.meta_catalog_id}/additional_reviews",
                {"product_ids": ids, "message": chunk[0].message or RATIONALE},
            )
        except InvalidRequest as exc:
            if "per day" in str(exc):  # Meta's own count says the day's calls are spent
                report.errors.append(str(exc))
                break
            _close(pks, State.REFUSED, sent_at, Event.REREVIEW_REFUSED, str(exc))
            report.refused += len(pks)
            continue
        except GraphAPIError as exc:  # outage, token, rate limit: left queued for the next run
            report.errors.append(str(exc))
            break
        _close(pks, State.SENT, sent_at, Event.REREVIEW_SENT, "")
        report.sent += len(pks)
    report.left = queued.count()
    log.info("Catalog %s re-review: %s", catalog.pk, report)
    return report


def _close(pks: list[int], state: str, sent_at: datetime, kind: str, error: str) -> None:
    with transaction.atomic():
        ReReviewRequest.objects.filter(pk__in=pks, state=State.QUEUED).update(
            state=state, sent_at=sent_at, error=error[:5000]
        )
        timeline.record_from(
            Variant.objects.filter(pk__in=ReReviewRequest.objects.filter(pk__in=pks).values("variant_id")),
            kind,
            at=sent_at,
            message=error,
        )


def run(catalog: Catalog) -> SendReport:
    """Queue what was fixed, then send what is due (the scheduled task's body)."""
    queue_fixed(catalog)
    if not ReReviewRequest.objects.filter(catalog=catalog, state=State.QUEUED).exists():
        return SendReport()
    return send_due(catalog, client_for(catalog))


def enqueue_due() -> int:
    """Queue a re-review run for each writable catalog with rejected items or queued requests."""
    due = writable_catalogs().filter(
        Exists(rejected(Variant.objects.filter(catalog_id=OuterRef("pk"))))
        | Exists(ReReviewRequest.objects.filter(catalog_id=OuterRef("pk"), state=State.QUEUED))
    )
    queued = 0
    for catalog_id in due.values_list("pk", flat=True).iterator():
        enqueue("catalog.tasks.rereview_catalog", catalog_id, group=f"rereview:{catalog_id}")
        queued += 1
    return queued
