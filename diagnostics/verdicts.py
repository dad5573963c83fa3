"""Meta's verdict on the items it holds, read back without reading the whole catalog.

After Meta accepts a payload its review decides whether the item is shown (review status,
rejection reasons, visibility, image fetch, per-channel capability review). Reading every
item every hour would cost 2,000 product-search pages an hour at a million items; instead
each run costs

* the items Meta's review **rejected** (``filter={"review_status":{"eq":"rejected"}}``):
  one page per 500 rejected items — a rejection after approval is seen within a run;
* a **lookup by id** (``filter={"retailer_id":{"is_any":[...100 ids]}}``) of the synced
  items whose verdict can still change: in review (new or changed payloads), not visible,
  and rejected ones the first pass did not return (their rejection was lifted), oldest
  check first, ``MAX_LOOKUPS_PER_RUN`` calls when the catalog is calm and, when many items
  wait for a verdict (a first sync, a burst), as many as they need up to
  ``VERDICT_MAX_LOOKUPS_PER_RUN`` (:func:`lookups_for`);
* out of those calls, the ones the changing items leave, and never fewer than
  ``LIVE_LOOKUPS_PER_RUN``, re-read **live** items, oldest check first: Meta may stop
  showing an item it approved (its image no longer fetched, a channel's review) and
  says so only when asked. At a million live items that is a full round in 200 hours
  (8 days) when the catalog is calm, 2,000 hours at worst.

With the hourly diagnostics poll that is ``rejected / 500 + 50`` Graph calls an hour per
catalog when calm, ``rejected / 500 + 400`` at most by default (README, "Meta's verdict"):
2% of the Catalog Management quota of a business with one user (20,000 calls an hour).
The first sync of a million items is read within 25 hours (at 50 calls an hour it took
200), an item changed in a burst of 100,000 within 3 hours at worst.

Writes go through :mod:`catalog.item_state` (the one writer of a variant's state).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from itertools import islice

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from catalog import item_state
from catalog.meta.client import GraphClient
from catalog.models import Catalog, Variant, VariantStateCount
from catalog.sync.run_report import CatalogRunReport

logger = logging.getLogger(__name__)

VERDICT_FIELDS = (
    "id,retailer_id,review_status,review_rejection_reasons,visibility,image_fetch_status,capability_to_review_status"
)
PAGE_SIZE = 500
LOOKUP_BATCH = 100  # retailer ids per is_any filter (a URL stays well under 8 KB)
MAX_LOOKUPS_PER_RUN = 50  # when the catalog is calm; more while many items wait (lookups_for)
LIVE_LOOKUPS_PER_RUN = 5  # kept for live items even while many others are changing
Verdict = Variant.Verdict


@dataclass
class VerdictReport(CatalogRunReport):
    """What one verdict poll read and recorded for one catalog (logged as every run report is)."""

    calls: int = 0
    rejected: int = 0
    looked_up: int = 0
    recorded: int = 0
    missing: int = 0
    unmatched: int = 0


def _filter(expression: dict) -> str:
    return json.dumps(expression, separators=(",", ":"))


def lookups_for(catalog: Catalog) -> int:
    """Lookups this run may make: the calm budget, or what the items waiting for a verdict need.

    Waiting: synced, to be live, and in review, not visible or never read, from the
    maintained state counts (no COUNT over the catalog). Capped by
    ``VERDICT_MAX_LOOKUPS_PER_RUN``, so a first sync of a million items spreads over a day
    instead of taking Meta's quota, and never below ``MAX_LOOKUPS_PER_RUN``.
    """
    waiting = VariantStateCount.objects.total(
        catalog_id=catalog.pk,
        meta_status=Variant.SyncStatus.SYNCED,
        excluded=False,
        verdict__in=(Verdict.IN_REVIEW, Verdict.NOT_VISIBLE, Verdict.NONE),
    )
    needed = -(-waiting // LOOKUP_BATCH) + LIVE_LOOKUPS_PER_RUN
    return max(MAX_LOOKUPS_PER_RUN, min(needed, settings.VERDICT_MAX_LOOKUPS_PER_RUN))


def poll_verdicts(catalog: Catalog, client: GraphClient, *, max_lookups: int | None = None) -> VerdictReport:
    """Read Meta's verdict for the catalog's items that may have changed (see the module docstring).

    ``max_lookups``: the lookup calls of this run (default: :func:`lookups_for`).
    Raises the client's ``GraphAPIError`` (the caller records it as an integration issue);
    what was read before the error is kept.
    """
    if max_lookups is None:
        max_lookups = lookups_for(catalog)
    report = VerdictReport(catalog.pk)
    now = timezone.now()
    ours = Variant.objects.for_tenant(catalog.tenant_id).filter(catalog=catalog)
    rejected_ids: set[str] = set()
    rows = client.paginate(
        f"{catalog.meta_catalog_id}/products",
        fields=VERDICT_FIELDS,
        limit=PAGE_SIZE,
        filter=_filter({"review_status": {"eq": "rejected"}}),
    )
    while page := list(islice(rows, PAGE_SIZE)):
        report.calls += 1
        verdicts = [item_state.ItemVerdict.from_graph(row) for row in page if isinstance(row, dict)]
        rejected_ids.update(v.retailer_id for v in verdicts)
        report.rejected += len(verdicts)
        report.recorded += item_state.record_verdicts(catalog.pk, verdicts, now=now)
    known = (
        set(ours.filter(retailer_id__in=rejected_ids).values_list("retailer_id", flat=True)) if rejected_ids else set()
    )
    report.unmatched += len(rejected_ids - known)

    # Synced items whose verdict may still change; those the first pass just read are skipped.
    changing = (
        ours.filter(meta_status=Variant.SyncStatus.SYNCED, excluded=False, in_flight_batch__isnull=True)
        .filter(
            Q(verdict__in=(Verdict.IN_REVIEW, Verdict.NOT_VISIBLE, Verdict.NONE))
            | (Q(verdict=Verdict.REJECTED) & (Q(verdict_checked_at__lt=now) | Q(verdict_checked_at__isnull=True)))
        )
        .order_by(F("verdict_checked_at").asc(nulls_first=True), "pk")
        .values_list("retailer_id", flat=True)
    )
    live_share = min(LIVE_LOOKUPS_PER_RUN, max_lookups)
    wanted = [rid for rid in changing[: (max_lookups - live_share) * LOOKUP_BATCH] if rid not in rejected_ids]
    # What is left of the budget, in whole calls, re-reads live items (oldest check first).
    live_calls = max_lookups - -(-len(wanted) // LOOKUP_BATCH)
    live = (
        ours.filter(
            meta_status=Variant.SyncStatus.SYNCED, excluded=False, in_flight_batch__isnull=True, verdict=Verdict.LIVE
        )
        .order_by(F("verdict_checked_at").asc(nulls_first=True), "pk")
        .values_list("retailer_id", flat=True)
    )
    if live_calls > 0:
        wanted += [rid for rid in live[: live_calls * LOOKUP_BATCH] if rid not in rejected_ids]
    for start in range(0, len(wanted), LOOKUP_BATCH):
        batch = wanted[start : start + LOOKUP_BATCH]
        found = list(client.items_by_retailer_id(catalog.meta_catalog_id, batch, VERDICT_FIELDS, LOOKUP_BATCH))
        report.calls += 1
        report.looked_up += len(batch)
        verdicts = [item_state.ItemVerdict.from_graph(row) for row in found if isinstance(row, dict)]
        report.recorded += item_state.record_verdicts(catalog.pk, verdicts, now=now)
        returned = {v.retailer_id for v in verdicts}
        # Accepted once, gone now (deleted in Commerce Manager, or by another tool): send it again.
        if (gone := [rid for rid in batch if rid not in returned]) and not catalog.is_read_only:
            report.missing += item_state.mark_missing_in_meta(catalog.pk, gone, now=now)
    if report.recorded or report.missing:
        logger.info("catalog %s verdicts: %s", catalog.pk, report.as_dict())
    return report
