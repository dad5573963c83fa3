"""Drift and ghost detection: read each catalog back from Meta and compare it with what we had accepted.

Merchants of every tool in this field meet the same silent failures: someone edits an item
in Commerce Manager (the value drifts from the store's), a lost update or a lost delete
leaves Meta behind, a second tool or a second catalog holds the same products. The scan:

* reads the catalog from Meta page by page (``GET /{catalog_id}/products``, 500 items a
  call), a few pages per run, resuming from the Graph cursor it stored, so a catalog of a
  million items is read once a day in short runs (``pages_per_run``; about 2,000 calls a
  day per million items, management quota);
* **ghosts**: an item Meta holds that no variant of ours sent, or whose variant we deleted;
* **drift**: an item Meta holds whose values differ from the payload Meta last accepted from
  us (compared only for SYNCED variants not in flight, whose current payload *is* the one
  accepted: ``payload_hash == synced_hash``), field by field as the import's reconciliation
  compares (``catalog.connection.matching.compare``);
* **duplicate catalogs**: at the start of each pass, the business's other catalogs are asked
  for a sample of our items.

Findings are kept (``DriftFinding``, one row per item and kind, counted when found again);
where Galantis is the source of truth (every catalog but a linked one,
docs/meta-ingestion-rules.md, "Source of truth": we overwrite edits made in Meta) drifted
items are re-pushed at once. Ghosts are only reported: staff hide or delete them from the
admin (``hide_ghosts``, ``delete_ghosts``), since a ghost may be another tool's item the
merchant wants.
"""

from __future__ import annotations

import logging
import math
from collections import namedtuple
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog import item_state, items, timeline
from catalog.connection.deletions import queue_deletions
from catalog.connection.matching import READ_FIELDS, compare
from catalog.graph_clients import client_for
from catalog.meta.client import GraphClient
from catalog.meta.errors import GraphAPIError, InvalidRequest
from catalog.models import (
    Catalog,
    DriftFinding,
    DriftScan,
    MetaItemDeletion,
    Variant,
    VariantEvent,
    VariantStateCount,
)

from .item_rows import ROW_FIELDS, product_fields_for
from .push_requests import request_push
from .run_report import NOT_REPORTED, CatalogRunReport

logger = logging.getLogger(__name__)

Kind = DriftFinding.Kind
State = DriftFinding.State
PAGE_SIZE = 500
MAX_PAGES_PER_RUN = 50
DUPLICATE_SAMPLE = 100
DUPLICATE_CATALOGS_CHECKED = 20
SCAN_ROW_FIELDS = (*ROW_FIELDS, "meta_status", "payload_hash", "in_flight_batch_id", "catalog_id")
ScanRow = namedtuple("ScanRow", SCAN_ROW_FIELDS)


@dataclass
class ScanReport(CatalogRunReport):
    """What one run of the scan did for one catalog."""

    calls: int = 0
    items: int = 0
    ghosts: int = 0
    drifted: int = 0
    repushed: int = 0
    duplicates: int = 0
    pass_finished: bool = False
    error: str = ""
    found: dict = field(default_factory=dict, metadata=NOT_REPORTED)


def pages_per_run(catalog: Catalog) -> int:
    """Pages each run reads so that one pass takes about a day (``DRIFT_SCAN_EVERY_MINUTES`` apart)."""
    runs_per_day = max(24 * 60 // max(settings.DRIFT_SCAN_EVERY_MINUTES, 1), 1)
    size = VariantStateCount.objects.total(catalog_id=catalog.pk)
    return min(max(math.ceil(size / PAGE_SIZE / runs_per_day), settings.DRIFT_MIN_PAGES_PER_RUN), MAX_PAGES_PER_RUN)


def scannable(catalog: Catalog) -> bool:
    """A catalog we write (a linked one is another tool's to keep) with somewhere to read from."""
    return bool(catalog.meta_catalog_id and catalog.connection_id and not catalog.is_read_only)


def scan(catalog: Catalog, *, client: GraphClient | None = None, pages: int | None = None) -> ScanReport:
    """Read the next pages of ``catalog`` from Meta and record what disagrees; resumable, bounded."""
    report = ScanReport(catalog.pk)
    if not scannable(catalog):
        report.error = "not scanned: no Meta catalog, no connection, or linked read-only"
        return report
    client = client or client_for(catalog)
    state, _ = DriftScan.objects.get_or_create(catalog=catalog, defaults={"tenant_id": catalog.tenant_id})
    now = timezone.now()
    if not state.cursor:
        state.pass_started_at, state.items_read, state.calls = now, 0, 0
        report.duplicates = _check_duplicate_catalogs(catalog, client, report)
    repush = settings.DRIFT_AUTO_REPUSH
    try:
        for _ in range(pages or pages_per_run(catalog)):
            params = {"fields": READ_FIELDS, "limit": PAGE_SIZE, **({"after": state.cursor} if state.cursor else {})}
            page = client.get(f"{catalog.meta_catalog_id}/products", **params)
            report.calls += 1
            nodes = [n for n in page.get("data") or [] if isinstance(n, dict)]
            _examine(catalog, nodes, report, now=now, repush=repush)
            report.items += len(nodes)
            paging = page.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after") or ""
            state.cursor = after if nodes and paging.get("next") and after else ""
            if not state.cursor:
                _finish_pass(catalog, state, report, now)
                break
    except InvalidRequest as error:
        # A cursor Meta no longer knows (a pass left too long): the next run starts over.
        state.cursor, report.error = "", f"restarting the pass: {error}"
    except GraphAPIError as error:
        report.error = str(error)[:500]
    state.items_read += report.items
    state.calls += report.calls
    state.last_run_at, state.last_error = now, report.error
    state.save()
    if report.repushed:
        request_push(catalog.pk, now=True)
    logger.info("Drift scan of catalog %s: %s", catalog.pk, report.as_dict())
    return report


def _finish_pass(catalog: Catalog, state: DriftScan, report: ScanReport, now) -> None:
    """A full pass ended: ghosts not seen in it are gone from Meta."""
    report.pass_finished = True
    started = state.pass_started_at or now
    DriftFinding.objects.filter(catalog=catalog, kind=Kind.GHOST, state=State.OPEN, last_found_at__lt=started).update(
        state=State.FIXED, resolved_at=now, resolution="No longer in Meta."
    )
    state.last_pass_finished_at = now
    state.last_pass_items = state.items_read + report.items
    state.last_pass_calls = state.calls + report.calls


def _rows(catalog: Catalog, retailer_ids: Sequence[str]) -> dict[str, ScanRow]:
    values = Variant.objects.filter(catalog=catalog, retailer_id__in=list(retailer_ids)).values_list(*SCAN_ROW_FIELDS)
    return {row.retailer_id: row for row in (ScanRow._make(v) for v in values)}


def _payloads(rows: Iterable[ScanRow]) -> dict[str, dict]:
    """Our current payload of each row (its product's part built once), by retailer id."""
    rows = list(rows)
    fields = product_fields_for({r.product_id for r in rows}, {})
    return {r.retailer_id: items.meta_item(r, None, None, fields[r.product_id]) for r in rows if r.product_id in fields}


def _examine(catalog: Catalog, nodes: list[dict], report: ScanReport, *, now, repush: bool) -> None:
    """Compare one page of Meta's items with ours; write findings in bulk."""
    by_rid = {str(n.get("retailer_id")): n for n in nodes if n.get("retailer_id")}
    if not by_rid:
        return
    rows = _rows(catalog, list(by_rid))
    being_deleted = set(
        MetaItemDeletion.objects.filter(
            catalog=catalog,
            retailer_id__in=list(by_rid),
            state__in=(MetaItemDeletion.State.WAITING, MetaItemDeletion.State.SENT),
        ).values_list("retailer_id", flat=True)
    )
    ghosts: dict[str, dict] = {}
    comparable: list[ScanRow] = []
    for rid, node in by_rid.items():
        row = rows.get(rid)
        if row is None:
            if rid not in being_deleted:
                ghosts[rid] = node
        elif row.meta_deleted_at is not None and row.in_flight_batch_id is None:
            ghosts[rid] = node  # we deleted it (or believe so), and Meta still has it: a lost delete
        elif (
            row.meta_status == Variant.SyncStatus.SYNCED
            and row.in_flight_batch_id is None
            and row.synced_hash
            and row.payload_hash == row.synced_hash
        ):
            comparable.append(row)
    drifted: dict[str, list[dict]] = {}
    for rid, ours in _payloads(comparable).items():
        if differences := compare(ours, by_rid[rid]):
            drifted[rid] = differences
    in_step = [r.retailer_id for r in comparable if r.retailer_id not in drifted]
    with transaction.atomic():
        _record(catalog, Kind.GHOST, {rid: ([], _ghost_values(n)) for rid, n in ghosts.items()}, rows, by_rid, now)
        _record(catalog, Kind.DRIFT, {rid: (d, {}) for rid, d in drifted.items()}, rows, by_rid, now)
        # Meta agrees again (a re-push landed, or someone undid the edit).
        agreed = DriftFinding.objects.filter(
            catalog=catalog, kind=Kind.DRIFT, retailer_id__in=in_step, state=State.OPEN
        )
        _record_fixed(agreed, gettext_noop("Meta matches the last accepted payload again."), now)
        agreed.update(
            state=State.FIXED, resolved_at=now, resolution=gettext_noop("Meta matches the last accepted payload again.")
        )
        if repush and drifted:
            report.repushed += _repush(catalog, [rows[rid].pk for rid in drifted], now)
    report.ghosts += len(ghosts)
    report.drifted += len(drifted)


def _ghost_values(node: dict) -> dict:
    keep = ("name", "price", "availability", "visibility", "url")
    return {k: node[k] for k in keep if node.get(k) not in (None, "")}


def _record(catalog: Catalog, kind: str, found: dict[str, tuple[list, dict]], rows: dict, nodes: dict, now) -> None:
    """Open (or count again) one finding per item; a dismissed one stays dismissed."""
    if not found:
        return
    existing = {
        f.retailer_id: f for f in DriftFinding.objects.filter(catalog=catalog, kind=kind, retailer_id__in=list(found))
    }
    new, seen, events = [], [], []
    for rid, (differences, values) in found.items():
        row = rows.get(rid)
        finding = existing.get(rid)
        if row is not None and (finding is None or finding.state == State.FIXED):  # news for its timeline
            events.append(
                timeline.Row(
                    tenant_id=catalog.tenant_id,
                    variant_id=row.pk,
                    product_id=row.product_id,
                    catalog_id=catalog.pk,
                    kind=VariantEvent.Kind.DRIFT_FOUND,
                    detail={"kind": kind, "fields": [str(d.get("field")) for d in differences if isinstance(d, dict)]},
                )
            )
        if finding is None:
            new.append(
                DriftFinding(
                    tenant_id=catalog.tenant_id,
                    catalog=catalog,
                    kind=kind,
                    retailer_id=rid[:255],
                    meta_item_id=str(nodes[rid].get("id") or "")[:64],
                    variant_id=row.pk if row else None,
                    differences=differences,
                    meta_values=values,
                    first_found_at=now,
                    last_found_at=now,
                )
            )
            continue
        finding.times_found += 1
        finding.last_found_at, finding.differences, finding.meta_values = now, differences, values
        if finding.state == State.FIXED:
            finding.state, finding.resolved_at, finding.resolution = State.OPEN, None, ""
        seen.append(finding)
    DriftFinding.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    timeline.record_rows(events, at=now)
    DriftFinding.objects.bulk_update(
        seen,
        ["times_found", "last_found_at", "differences", "meta_values", "state", "resolved_at", "resolution"],
        batch_size=500,
    )


def _repush(catalog: Catalog, variant_ids: list[int], now) -> int:
    """Galantis is the source of truth: send our payload again over Meta's drifted values."""
    # Meta's copy was edited by someone else: it may hold a field ours lacks (a colour set in
    # Commerce Manager), which no update-only row clears, so the update feeds leave it alone.
    count = item_state.mark_pending(Variant.objects.filter(pk__in=variant_ids), now=now, meta_copy_unknown=True)
    findings = DriftFinding.objects.filter(catalog=catalog, kind=Kind.DRIFT, variant_id__in=variant_ids)
    _record_fixed(findings.exclude(state=State.FIXED), gettext_noop("Re-pushed automatically."), now)
    findings.update(
        state=State.FIXED,
        resolved_at=now,
        resolution="Re-pushed automatically (Galantis is the source of truth).",
    )
    return count


def _record_fixed(findings, how: str, now) -> None:
    """Timeline: "drift fixed" on the variants of ``findings`` (one INSERT ... SELECT)."""
    timeline.record_from(
        findings.filter(variant__isnull=False),
        VariantEvent.Kind.DRIFT_FIXED,
        at=now,
        message=how,
        source=("tenant_id", "variant_id", "variant__product_id", "catalog_id"),
    )


def _check_duplicate_catalogs(catalog: Catalog, client: GraphClient, report: ScanReport) -> int:
    """Other catalogs of the business that hold some of our items (a second tool, a copy)."""
    business_id = catalog.connection.business_id if catalog.connection else ""
    if not business_id:
        return 0
    sample = list(
        Variant.objects.filter(catalog=catalog, meta_status=Variant.SyncStatus.SYNCED)
        .order_by("pk")
        .values_list("retailer_id", flat=True)[:DUPLICATE_SAMPLE]
    )
    if not sample:
        return 0
    ours = set(Catalog.objects.filter(pk=catalog.pk).values_list("meta_catalog_id", flat=True))
    found: dict[str, tuple[list, dict]] = {}
    try:
        others = client.paginate(f"{business_id}/owned_product_catalogs", fields="id,name", limit=100)
        report.calls += 1
        for n, other in enumerate(others):
            if n >= DUPLICATE_CATALOGS_CHECKED:
                break
            other_id = str(other.get("id") or "")
            if not other_id or other_id in ours:
                continue
            # One item is proof enough: only the first page of the search is read (one call).
            held = next(iter(client.items_by_retailer_id(other_id, sample, "id,retailer_id", 1)), None)
            report.calls += 1
            if isinstance(held, dict):
                sample_id = str(held.get("retailer_id"))
                found[other_id] = ([], {"name": str(other.get("name") or ""), "sample": sample_id})
    except GraphAPIError as error:
        logger.warning("Drift scan of catalog %s: could not list the business's catalogs: %s", catalog.pk, error)
        return 0
    now = timezone.now()
    _record(catalog, Kind.DUPLICATE_CATALOG, found, {}, {cid: {} for cid in found}, now)
    return len(found)


# -- fixes staff choose in the admin --------------------------------------------------------------


def hide_ghosts(
    catalog: Catalog, findings: Sequence[DriftFinding], *, user=None, client: GraphClient | None = None
) -> int:
    """Hide ghost items in Meta (visibility staging, an UPDATE that never creates); return how many were sent."""
    ghosts = [f for f in findings if f.kind == Kind.GHOST and f.catalog_id == catalog.pk]
    if not ghosts or not scannable(catalog):
        return 0
    client = client or client_for(catalog)
    requests = [{"method": "UPDATE", "data": {"id": f.retailer_id, "visibility": "staging"}} for f in ghosts]
    client.post(
        f"{catalog.meta_catalog_id}/items_batch",
        {"item_type": "PRODUCT_ITEM", "allow_upsert": False, "requests": requests},
    )
    _mark_fixed(ghosts, user, "Hidden in Meta (visibility staging).")
    return len(ghosts)


def delete_ghosts(catalog: Catalog, findings: Sequence[DriftFinding], *, user=None) -> int:
    """Delete ghost items from Meta: queued like every deletion (sent, then its handle polled).

    A ghost of our own (a variant whose delete was lost) goes back through our own deletion
    path instead: PENDING again as an item Meta holds, so it is deleted by the method the
    rules allow (listed by a replace feed first, then left out of it).
    """
    ghosts = [f for f in findings if f.kind == Kind.GHOST and f.catalog_id == catalog.pk]
    ours = [f for f in ghosts if f.variant_id]
    if ours:
        item_state.forget_deletion(
            Variant.objects.filter(pk__in=[f.variant_id for f in ours]), {f.variant_id: f.meta_item_id for f in ours}
        )
    others = [f.retailer_id for f in ghosts if not f.variant_id]
    if others:
        queue_deletions(None, catalog, others, MetaItemDeletion.Reason.GHOST, user)
    _mark_fixed(ghosts, user, "Deletion queued by staff.")
    return len(ghosts)


def _mark_fixed(findings: Sequence[DriftFinding], user, resolution: str) -> None:
    """Close ``findings`` as fixed now by ``user``, saying how (``resolution``)."""
    DriftFinding.objects.filter(pk__in=[f.pk for f in findings]).update(
        state=State.FIXED, resolved_at=timezone.now(), resolved_by=user, resolution=resolution
    )


def dismiss(findings: Iterable[DriftFinding], *, user=None) -> int:
    """Staff say a finding is expected (another tool's item the merchant keeps): never reopened."""
    return DriftFinding.objects.filter(pk__in=[f.pk for f in findings]).update(
        state=State.DISMISSED,
        resolved_at=timezone.now(),
        resolved_by=user,
        resolution="Dismissed by staff.",
    )


def repush_drifted(findings: Iterable[DriftFinding]) -> int:
    """Send our payload again for drifted items (staff's choice on a linked or opted-out catalog)."""
    findings = [f for f in findings if f.kind == Kind.DRIFT and f.variant_id]
    by_catalog: dict[int, list[int]] = {}
    for f in findings:
        by_catalog.setdefault(f.catalog_id, []).append(f.variant_id)
    now = timezone.now()
    done = 0
    for catalog_id, variant_ids in by_catalog.items():
        catalog = Catalog.objects.get(pk=catalog_id)
        if catalog.is_read_only:
            continue
        done += _repush(catalog, variant_ids, now)
    return done
