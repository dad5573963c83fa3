"""Import reconciliation: read an existing Meta catalog, match it to Shopify variants, report, apply.

Nothing is written to Meta until the merchant has seen the report and enabled sync.

Reading stores every Meta item as a report row first (bounded pages, bulk inserts),
then matching runs as passes over the still-unmatched rows, so the result does not
depend on the order Meta pages items in. Matching order (documented on the page):

1. **retailer id**: the Meta item's ``retailer_id`` equals our variant's ``retailer_id``
   (the Shopify variant id). Identical -> *matched*; otherwise *matched with differences*.
2. **SKU**: the Meta item's ``retailer_id`` equals the variant's SKU, when exactly one
   variant of the store carries that SKU (a previous tool keyed items by SKU).
3. **product-level item** (variants scenario 3): the Meta item's ``retailer_id`` equals
   the Shopify product id or handle: an old feed without variants. Every variant of
   that product maps to it.
4. **title and options**: the item's ``name`` equals the product title and its
   ``color`` / ``size`` single out one variant.

Matches 2-4 mean Meta knows the item under another id: the variant gets
``previous_id`` = that id and the old item is deleted once ours is synced
(``MetaItemDeletion``), so nothing is duplicated (docs/graph-api.md §10, pitfall 1).
Meta items matching nothing are *in Meta only*; they are deleted only if the merchant
explicitly ticks that choice (recorded with who chose it). Shopify variants nobody
matched are *missing in Meta* and are created by the sync.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from catalog import item_state, items
from catalog.bulk_values import update_by_pk
from catalog.graph_clients import client_for_connection
from catalog.meta.errors import GraphAPIError
from catalog.models import Catalog, MetaItemDeletion, Product, ReconciliationReport, ReconciliationRow, Variant
from catalog.sync.push_requests import request_push
from galantis.chunks import in_chunks, keyset_chunks
from galantis.logredact import redact
from galantis.queue import enqueue

from .deletions import deletions_ready, queue_deletions, send_deletions, send_due_deletions
from .matching import COMPARED_FIELDS, READ_FIELDS, ROW_CHUNK, Matcher, compare, parse_price, store_meta_items

# The clearable fields a match does not compare: another tool may have set them in Meta.
UNCOMPARED_CLEARABLE = items.clearable_bits(f for f in items.CLEARABLE_FIELDS if f not in COMPARED_FIELDS)

__all__ = [
    "COMPARED_FIELDS",
    "Matcher",
    "ReportNotApplicable",
    "apply_link",
    "apply_report",
    "build_report",
    "compare",
    "confirm_import",
    "deletions_ready",
    "is_current",
    "parse_price",
    "send_deletions",
    "send_due_deletions",
    "start_report",
]

logger = logging.getLogger(__name__)

Kind = ReconciliationRow.Kind
State = ReconciliationReport.State

NOT_IN_LINKED_CATALOG = "NOT_IN_LINKED_CATALOG"
# Graph's maximum page size for /products.
READ_PAGE_SIZE = 500


# -- building a report --------------------------------------------------------------------------


def start_report(catalog: Catalog, *, purpose: str, user=None, queue: bool = True) -> ReconciliationReport:
    """Create a report for ``catalog`` (older unapplied ones are superseded) and queue reading it.

    ``queue=False`` leaves the reading to the caller (the command runs it in-process).
    """
    with transaction.atomic():
        ReconciliationReport.objects.for_tenant(catalog.tenant_id).filter(
            catalog=catalog, state__in=[State.RUNNING, State.READY]
        ).update(state=State.SUPERSEDED, finished_at=timezone.now())
        report = ReconciliationReport.objects.create(
            tenant_id=catalog.tenant_id,
            catalog=catalog,
            meta_catalog_id=catalog.meta_catalog_id,
            purpose=purpose,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        if queue:
            enqueue("catalog.tasks.build_reconciliation_report", report.pk, group=f"reconcile:{catalog.pk}")
    return report


def build_report(report: ReconciliationReport) -> ReconciliationReport:
    """Read every item of the report's Meta catalog, match them, and mark the report READY (or FAILED).

    Linked (read-only) catalogs get their mapping applied at once: nothing is written to Meta.
    """
    catalog = report.catalog
    if catalog.connection is None or not catalog.connection.access_token:
        return _fail(report, "No Meta token is connected.")
    ReconciliationRow.objects.filter(report=report).delete()  # a retried task starts clean
    ReconciliationReport.objects.filter(pk=report.pk).update(meta_items_read=0)
    client = client_for_connection(catalog.connection)
    pages = client.paginate(f"{report.meta_catalog_id}/products", fields=READ_FIELDS, limit=READ_PAGE_SIZE)
    try:
        for chunk in in_chunks(pages, ROW_CHUNK):
            store_meta_items(report, chunk)
    except GraphAPIError as exc:
        logger.warning("report %s: reading catalog failed with code %s", report.pk, exc.code)
        return _fail(report, f"Meta refused reading the catalog: {exc.message}")
    matcher = Matcher(report)
    matcher.run()
    report.refresh_from_db()
    if report.state != State.RUNNING:  # superseded while we read
        return report
    report.recount()
    report.state = State.READY
    report.finished_at = timezone.now()
    report.save(
        update_fields=["matched", "different", "id_changed", "meta_only", "missing_in_meta", "state", "finished_at"]
    )
    logger.info("report %s ready: %s items read", report.pk, report.meta_items_read)
    if report.purpose == ReconciliationReport.Purpose.LINK:
        apply_link(report)
    return report


def _fail(report: ReconciliationReport, message: str) -> ReconciliationReport:
    report.state = State.FAILED
    report.error = redact(message)
    report.finished_at = timezone.now()
    ReconciliationReport.objects.filter(pk=report.pk).update(
        state=report.state, error=report.error, finished_at=report.finished_at
    )
    return report


# -- applying a report --------------------------------------------------------------------------


class ReportNotApplicable(Exception):
    """The report can't be applied (stale, not ready, wrong flow); the message says why."""


def is_current(report: ReconciliationReport) -> bool:
    """The report belongs to the catalog the store syncs now and is its newest report."""
    catalog = report.catalog
    latest = ReconciliationReport.objects.latest_for(catalog)
    return catalog.store_id is not None and latest is not None and latest.pk == report.pk


@transaction.atomic(durable=True)
def confirm_import(
    report: ReconciliationReport, *, user=None, delete_unmatched: bool = False, via: str = "", queue: bool = True
) -> ReconciliationReport:
    """Record the merchant's go (and deletion choice) for an import report; queue applying it.

    ``delete_unmatched`` must be an explicit choice: it is stored with the user (or the
    command line, ``via``) who made it.
    """
    report = ReconciliationReport.objects.select_for_update().select_related("catalog").get(pk=report.pk)
    if report.state != State.READY:
        raise ReportNotApplicable(f"This report is {report.get_state_display().lower()}, not ready to apply.")
    if report.purpose != ReconciliationReport.Purpose.IMPORT or report.catalog.flow != Catalog.Flow.IMPORT:
        raise ReportNotApplicable("Only an import report enables sync; this catalog is not being imported.")
    if not is_current(report):
        raise ReportNotApplicable("The catalog changed since this report was made; read the catalog again.")
    now = timezone.now()
    user = user if getattr(user, "is_authenticated", False) else None
    report.state = State.APPLYING
    report.applied_by = user
    report.applied_at = now
    if delete_unmatched:
        if user is None and not via:
            raise ReportNotApplicable("Deleting Meta items needs to record who chose it.")
        report.delete_unmatched = True
        report.delete_unmatched_chosen_by = user
        report.delete_unmatched_chosen_via = via
        report.delete_unmatched_chosen_at = now
    report.save()
    if queue:
        enqueue("catalog.tasks.apply_reconciliation_report", report.pk, group=f"reconcile:{report.catalog_id}")
    return report


def apply_report(report: ReconciliationReport) -> ReconciliationReport:
    """Make Galantis the source of truth for an imported catalog, as the merchant confirmed.

    Identical items become SYNCED (Meta already has them), the rest PENDING; items
    known under another id get ``previous_id`` and their old id queued for deletion;
    unmatched Meta items are queued for deletion only if the merchant chose so. Then
    sync is enabled and a push queued.
    """
    if report.state != State.APPLYING:
        raise ReportNotApplicable("The report has not been confirmed.")
    catalog = report.catalog
    now = timezone.now()
    if catalog.store_id:
        item_state.attach_to_catalog(
            Variant.objects.for_tenant(report.tenant_id)
            .filter(product__store_id=catalog.store_id)
            .exclude(catalog=catalog),
            catalog.pk,
            now=now,
        )
    rows = ReconciliationRow.objects.filter(report=report, variant__isnull=False).select_related(
        "variant", "variant__product"
    )
    for chunk in keyset_chunks(rows, ROW_CHUNK):
        _apply_import_rows(report, catalog, chunk, now)
    if report.delete_unmatched:
        for chunk in keyset_chunks(ReconciliationRow.objects.filter(report=report, kind=Kind.META_ONLY), ROW_CHUNK):
            queue_deletions(
                report,
                catalog,
                [r.meta_retailer_id for r in chunk if r.meta_retailer_id],
                MetaItemDeletion.Reason.UNMATCHED,
                report.delete_unmatched_chosen_by,
            )
    Catalog.objects.filter(pk=catalog.pk).update(sync_enabled=True, updated_at=now)
    catalog.refresh_from_db()
    with transaction.atomic():
        ReconciliationReport.objects.filter(pk=report.pk).update(state=State.APPLIED, finished_at=now)
        request_push(catalog.pk, now=True)
    report.refresh_from_db()
    logger.info("report %s applied: catalog %s now synced by Galantis", report.pk, catalog.pk)
    return report


def _apply_import_rows(report, catalog, rows: list[ReconciliationRow], now) -> None:
    """Apply one chunk of rows: per-row values in a narrow ``bulk_update``, the rest grouped."""
    variants: dict[int, Variant] = {}
    synced, pending, replaced, others = [], [], [], []
    regrouped: list[Product] = []
    products: dict[int, Product] = {}
    failed: dict[int, list[items.Problem]] = {}
    for row in rows:
        if row.variant_id in variants:
            continue
        variant = variants[row.variant_id] = row.variant
        # One instance per product, so a group id changed for one variant holds for its siblings.
        variant.product = products.setdefault(variant.product_id, variant.product)
        variant.meta_item_id = ""
        if row.kind == Kind.ID_CHANGE:
            # Ours will be a new item that takes over the old one's history; the old item goes
            # only once ours is confirmed (deletions_ready), so its learnings carry over.
            variant.previous_id = row.meta_retailer_id[:100]
            replaced.append(row.meta_retailer_id)
            product = variant.product
            if row.meta_retailer_id == product.item_group_id and not product.meta_group_id:
                # Scenario 3 with the old product-level item's id as our group id: Meta refuses a
                # group id an item holds (#10800), so our variants group under another id instead
                # of deleting the old item first.
                product.meta_group_id = regrouped_id(product)
                regrouped.append(product)
        elif row.kind in (Kind.MATCHED, Kind.DIFFERENT):
            variant.meta_item_id = row.meta_item_id
            others.append(variant.pk)
        # The payload as it is now (previous_id included), so the push and its confirmation agree.
        fields = items.product_fields(variant.product, catalog.store)
        item = items.meta_item(variant, variant.product, catalog.store, fields)
        variant.payload_hash = items.payload_hash(item)
        variant.payload_mask = items.clearable_mask(item)
        excluded = fields.excluded or variant.removed_at is not None
        if not excluded and (problems := items.local_problems(item)):
            # Never sent as a live item, whatever Meta holds today: the push hides Meta's copy.
            failed[variant.pk] = problems
            continue
        # Identical and unchanged since the report: Meta already has exactly this.
        same = row.kind == Kind.MATCHED and variant.payload_hash == row.our_hash
        (synced if same else pending).append(variant.pk)
    ids = list(variants)
    with transaction.atomic():
        Variant.objects.filter(pk__in=ids).update(catalog=catalog, meta_retailer_id="", updated_at=now)
        update_by_pk(
            Variant,
            ["payload_hash", "payload_mask", "meta_item_id", "previous_id"],
            [(v.pk, v.payload_hash, v.payload_mask, v.meta_item_id, v.previous_id) for v in variants.values()],
        )
        item_state.mark_imported(synced, pending, failed, now=now, uncompared=UNCOMPARED_CLEARABLE)
        # Matched items were created by another tool: only a replace feed of ours may delete them.
        Variant.objects.filter(pk__in=others).update(created_via=Variant.CreatedVia.OTHER, in_replace_feed_at=None)
        if regrouped:
            Product.objects.bulk_update(regrouped, ["meta_group_id"], batch_size=500)
    if replaced:
        queue_deletions(report, catalog, replaced, MetaItemDeletion.Reason.REPLACED, None)


def regrouped_id(product: Product) -> str:
    """An item group id for ``product`` that no old product-level item can hold."""
    return f"{product.shopify_product_id}-variants"


def apply_link(report: ReconciliationReport) -> ReconciliationReport:
    """Map a read-only catalog's items to variants (for product messages); nothing is written to Meta.

    Variants found in the catalog are SYNCED (they are live there) and remember the
    item's id when it differs from ours; variants not in it are FAILED with the fix.
    """
    catalog = report.catalog
    now = timezone.now()
    rows = ReconciliationRow.objects.filter(report=report, variant__isnull=False).select_related("variant")
    for chunk in keyset_chunks(rows, ROW_CHUNK):
        found: dict[int, Variant] = {}
        missing: list[int] = []
        for row in chunk:
            if row.kind == Kind.MISSING_IN_META:
                missing.append(row.variant_id)
                continue
            if row.variant_id in found:
                continue
            variant = found[row.variant_id] = row.variant
            variant.meta_item_id = row.meta_item_id
            variant.meta_retailer_id = "" if row.meta_retailer_id == variant.retailer_id else row.meta_retailer_id
            variant.payload_hash = row.our_hash
        with transaction.atomic():
            Variant.objects.filter(pk__in=[*found, *missing]).update(
                catalog=catalog, in_flight_batch=None, in_flight_hash="", updated_at=now
            )
            update_by_pk(
                Variant,
                ["meta_item_id", "meta_retailer_id", "payload_hash"],
                [(v.pk, v.meta_item_id, v.meta_retailer_id, v.payload_hash) for v in found.values()],
            )
            item_state.mark_linked(
                list(found),
                missing,
                now=now,
                code=NOT_IN_LINKED_CATALOG,
                message="This variant is not in the linked catalog, which another tool manages.",
                fix="Add it with that tool, or switch the catalog to “Import” so Galantis keeps it in sync.",
            )
    ReconciliationReport.objects.filter(pk=report.pk).update(state=State.APPLIED, applied_at=now)
    report.refresh_from_db()
    return report
