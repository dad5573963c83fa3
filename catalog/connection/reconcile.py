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
(``MetaItemDeletion``), so nothing is duplicated (reference §10 pitfall 1).
Meta items matching nothing are *in Meta only*; they are deleted only if the merchant
explicitly ticks that choice (recorded with who chose it). Shopify variants nobody
matched are *missing in Meta* and are created by the sync.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from catalog import items
from catalog.meta.client import GraphClient
from catalog.meta.errors import GraphAPIError
from catalog.models import (
    Catalog,
    MetaItemDeletion,
    Product,
    ReconciliationReport,
    ReconciliationRow,
    Variant,
)
from galantis.logredact import redact
from galantis.queue import enqueue

from .catalogs import ensure_writable

logger = logging.getLogger(__name__)

Kind = ReconciliationRow.Kind
Method = ReconciliationRow.Method
State = ReconciliationReport.State

# Rows written / matched per round trip: bounded memory at a million items.
ROW_CHUNK = 1000
# Graph's maximum page size for /products.
READ_PAGE_SIZE = 500
# Meta's items_batch limit.
MAX_DELETES_PER_BATCH = 5000

# Our items_batch field -> the Graph field Meta returns when reading an item (reference §4).
COMPARED_FIELDS = {
    "title": "name",
    "description": "description",
    "availability": "availability",
    "condition": "condition",
    "price": "price",
    "sale_price": "sale_price",
    "link": "url",
    "image_link": "image_url",
    "brand": "brand",
    "item_group_id": "retailer_product_group_id",
    "quantity_to_sell_on_facebook": "quantity_to_sell_on_facebook",
    "color": "color",
    "size": "size",
    "visibility": "visibility",
}
READ_FIELDS = ",".join(["id", "retailer_id", "currency", *dict.fromkeys(COMPARED_FIELDS.values())])
_LOWERCASE_FIELDS = {"availability", "condition", "visibility"}
_PRICE_FIELDS = {"price", "sale_price"}
_SPACE = re.compile(r"\s+")
_CURRENCY = re.compile(r"\b([A-Z]{3})\b")
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "R$": "BRL"}


# -- comparing our payload with Meta's values ---------------------------------------------------


def parse_price(value: object, currency_hint: str = "") -> tuple[Decimal, str] | None:
    """Read a price in any shape Meta returns (``"9.99 USD"``, ``"$9.99"``, ``"1,299.00"``, minor units)."""
    if value is None or value == "":
        return None
    if isinstance(value, int):  # Graph write format: integer minor units
        return Decimal(value) / 100, currency_hint
    text = str(value).strip()
    match = _CURRENCY.search(text)
    currency = match.group(1) if match else ""
    if not currency:
        for symbol, code in sorted(_SYMBOLS.items(), key=lambda kv: -len(kv[0])):
            if symbol in text:
                currency = code
                break
    number = re.sub(r"[^0-9.,-]", "", text)
    if "," in number and "." in number:
        number = number.replace(",", "")
    elif "," in number:
        head, _, tail = number.rpartition(",")
        number = f"{head.replace(',', '')}.{tail}" if len(tail) == 2 else number.replace(",", "")
    try:
        return Decimal(number), currency or currency_hint
    except InvalidOperation:
        return None


def _norm(field: str, value: object) -> object:
    if value is None:
        return ""
    if field == "quantity_to_sell_on_facebook":
        try:
            return int(value)
        except (TypeError, ValueError):
            return str(value)
    text = _SPACE.sub(" ", str(value)).strip()
    return text.lower() if field in _LOWERCASE_FIELDS else text


def compare(ours: dict, meta: dict) -> list[dict]:
    """Field-by-field differences between our payload and Meta's item (``[]`` when identical)."""
    differences = []
    currency = str(meta.get("currency") or "")
    for field, graph_field in COMPARED_FIELDS.items():
        mine, theirs = ours.get(field), meta.get(graph_field)
        if field in _PRICE_FIELDS:
            a, b = parse_price(mine), parse_price(theirs, currency)
            same = (a is None and b is None) or (
                a is not None and b is not None and a[0] == b[0] and (not b[1] or a[1] == b[1])
            )
        else:
            same = _norm(field, mine) == _norm(field, theirs)
        if not same:
            differences.append({
                "field": field,
                "ours": "" if mine is None else str(mine),
                "meta": "" if theirs is None else str(theirs),
            })
    return differences


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
    client = GraphClient.for_connection(catalog.connection)
    pages = client.paginate(f"{report.meta_catalog_id}/products", fields=READ_FIELDS, limit=READ_PAGE_SIZE)
    try:
        for chunk in _chunks(pages, ROW_CHUNK):
            _store_meta_items(report, chunk)
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
    report.save(update_fields=["matched", "different", "id_changed", "meta_only", "missing_in_meta", "state",
                               "finished_at"])
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


def _meta_values(node: dict) -> dict:
    keep = ("currency", *COMPARED_FIELDS.values())
    return {k: node[k] for k in keep if node.get(k) not in (None, "")}


def _store_meta_items(report: ReconciliationReport, nodes: list[dict]) -> None:
    rows = [
        ReconciliationRow(
            tenant_id=report.tenant_id,
            report=report,
            kind=Kind.META_ONLY,
            meta_item_id=str(node.get("id") or "")[:64],
            meta_retailer_id=str(node.get("retailer_id") or "")[:255],
            meta_name=str(node.get("name") or "")[:512],
            meta_values=_meta_values(node),
        )
        for node in nodes
    ]
    ReconciliationRow.objects.bulk_create(rows, batch_size=500)
    ReconciliationReport.objects.filter(pk=report.pk).update(meta_items_read=F("meta_items_read") + len(rows))


MATCH_FIELDS = ["kind", "method", "variant", "our_hash", "differences", "note"]


class Matcher:
    """The matching passes over one report's rows (see the module docstring for the order)."""

    def __init__(self, report: ReconciliationReport):
        self.report = report
        self.store = report.catalog.store
        self.tenant_id = report.tenant_id

    def run(self) -> None:
        if self.store is not None:
            self.by_retailer_id()
            self.by_sku()
            self.by_product()
            self.by_title()
            self.add_missing()

    # querysets --------------------------------------------------------------------------------

    def variants(self) -> QuerySet[Variant]:
        return Variant.objects.for_tenant(self.tenant_id).filter(product__store=self.store).select_related("product")

    def unmatched_variants(self) -> QuerySet[Variant]:
        taken = ReconciliationRow.objects.filter(report=self.report, variant=OuterRef("pk"))
        return self.variants().filter(~Exists(taken))

    def unmatched_rows(self) -> Iterator[list[ReconciliationRow]]:
        """Rows still in Meta only, in keyset-paged chunks (rows matched meanwhile drop out)."""
        last = 0
        while True:
            chunk = list(
                ReconciliationRow.objects.filter(report=self.report, kind=Kind.META_ONLY, variant__isnull=True,
                                                 pk__gt=last)
                .exclude(meta_retailer_id="")
                .order_by("pk")[:ROW_CHUNK]
            )
            if not chunk:
                return
            last = chunk[-1].pk
            yield chunk

    # helpers ----------------------------------------------------------------------------------

    def match(self, row: ReconciliationRow, variant: Variant, method: str, note: str = "") -> None:
        """Fill ``row`` for ``variant`` matched by ``method``: our hash, the differences, the kind."""
        ours = items.meta_item(variant, variant.product, self.store)
        row.variant = variant
        row.method = method
        row.our_hash = items.payload_hash(ours)
        row.differences = compare(ours, row.meta_values)
        row.note = note[:255]
        if method != Method.RETAILER_ID:
            row.kind = Kind.ID_CHANGE
        else:
            row.kind = Kind.DIFFERENT if row.differences else Kind.MATCHED

    def save(self, rows: list[ReconciliationRow]) -> None:
        if rows:
            ReconciliationRow.objects.bulk_update(rows, MATCH_FIELDS, batch_size=500)

    # passes -----------------------------------------------------------------------------------

    def by_retailer_id(self) -> None:
        for chunk in self.unmatched_rows():
            found = {
                v.retailer_id: v
                for v in self.variants().filter(retailer_id__in=[r.meta_retailer_id for r in chunk])
            }
            matched = []
            for row in chunk:
                if variant := found.get(row.meta_retailer_id):
                    self.match(row, variant, Method.RETAILER_ID)
                    matched.append(row)
            self.save(matched)

    def by_sku(self) -> None:
        for chunk in self.unmatched_rows():
            ids = {r.meta_retailer_id for r in chunk}
            by_sku: dict[str, list[Variant]] = defaultdict(list)
            for variant in self.unmatched_variants().filter(sku__in=ids):
                by_sku[variant.sku].append(variant)
            matched, noted = [], []
            for row in chunk:
                candidates = by_sku.get(row.meta_retailer_id, [])
                if len(candidates) == 1:
                    self.match(row, candidates[0], Method.SKU, f"Meta id {row.meta_retailer_id} is the SKU")
                    matched.append(row)
                elif len(candidates) > 1:
                    row.note = f"SKU {row.meta_retailer_id} is shared by {len(candidates)} Shopify variants"
                    noted.append(row)
            self.save(matched)
            if noted:
                ReconciliationRow.objects.bulk_update(noted, ["note"], batch_size=500)

    def by_product(self) -> None:
        for chunk in self.unmatched_rows():
            ids = {r.meta_retailer_id for r in chunk}
            numeric = [int(i) for i in ids if i.isdigit() and len(i) < 19]
            products = {}
            for product in Product.objects.for_tenant(self.tenant_id).filter(store=self.store).filter(
                Q(shopify_product_id__in=numeric) | Q(handle__in=ids)
            ):
                products[str(product.shopify_product_id)] = product
                products.setdefault(product.handle, product)
            if not products:
                continue
            by_product: dict[int, list[Variant]] = defaultdict(list)
            for variant in self.unmatched_variants().filter(product__in={p.pk for p in products.values()}).order_by(
                "product_id", "position", "pk"
            ):
                by_product[variant.product_id].append(variant)
            matched, extra = [], []
            for row in chunk:
                product = products.get(row.meta_retailer_id)
                variants = by_product.pop(product.pk, []) if product else []
                note = f"Meta item {row.meta_retailer_id} is the whole product (no variants in Meta)"
                for n, variant in enumerate(variants):
                    target = row if n == 0 else ReconciliationRow(
                        tenant_id=self.tenant_id,
                        report=self.report,
                        meta_item_id=row.meta_item_id,
                        meta_retailer_id=row.meta_retailer_id,
                        meta_name=row.meta_name,
                        meta_values=row.meta_values,
                    )
                    self.match(target, variant, Method.PRODUCT, note)
                    (matched if n == 0 else extra).append(target)
            self.save(matched)
            if extra:
                ReconciliationRow.objects.bulk_create(extra, batch_size=500)

    def by_title(self) -> None:
        for chunk in self.unmatched_rows():
            names = {r.meta_name for r in chunk if r.meta_name}
            if not names:
                continue
            by_title: dict[str, list[Variant]] = defaultdict(list)
            for variant in self.unmatched_variants().filter(product__title__in=names):
                by_title[_title_key(variant.product.title)].append(variant)
            taken: set[int] = set()
            matched, noted = [], []
            for row in chunk:
                candidates = [v for v in by_title.get(_title_key(row.meta_name), []) if v.pk not in taken]
                fitting = [v for v in candidates if _options_fit(v, row.meta_values)]
                if len(fitting) == 1:
                    taken.add(fitting[0].pk)
                    self.match(row, fitting[0], Method.TITLE, "Matched by title and options")
                    matched.append(row)
                elif len(fitting) > 1:
                    row.note = f"{len(fitting)} Shopify variants of “{row.meta_name[:80]}” fit; none chosen"
                    noted.append(row)
            self.save(matched)
            if noted:
                ReconciliationRow.objects.bulk_update(noted, ["note"], batch_size=500)

    def add_missing(self) -> None:
        """One row per eligible Shopify variant that no Meta item matched."""
        eligible = self.unmatched_variants().filter(
            removed_at__isnull=True,
            product__status=Product.Status.ACTIVE,
            product__published=True,
            product__excluded_from_meta=False,
            product__removed_at__isnull=True,
        )
        last = 0
        while True:
            chunk = list(eligible.filter(pk__gt=last).order_by("pk")[:ROW_CHUNK])
            if not chunk:
                return
            last = chunk[-1].pk
            rows = [
                ReconciliationRow(
                    tenant_id=self.tenant_id,
                    report=self.report,
                    kind=Kind.MISSING_IN_META,
                    variant=variant,
                    our_hash=items.payload_hash(items.meta_item(variant, variant.product, self.store)),
                )
                for variant in chunk
            ]
            ReconciliationRow.objects.bulk_create(rows, batch_size=500)


def _title_key(title: str) -> str:
    return items.clean_title(title).casefold()


_OPTION_KEYS = {"color": ("color", "colour"), "size": ("size",)}


def _options_fit(variant: Variant, meta_values: dict) -> bool:
    """True when every color/size Meta states equals the variant's option of that name."""
    options = {str(k).strip().lower(): str(v).strip().casefold() for k, v in (variant.options or {}).items()}
    for field, keys in _OPTION_KEYS.items():
        wanted = str(meta_values.get(field) or "").strip().casefold()
        if wanted and not any(options.get(key) == wanted for key in keys):
            return False
    return True


def _chunks(iterable: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for element in iterable:
        chunk.append(element)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- applying a report --------------------------------------------------------------------------


class ReportNotApplicable(Exception):
    """The report can't be applied (stale, not ready, wrong flow); the message says why."""


def is_current(report: ReconciliationReport) -> bool:
    """The report belongs to the catalog the store syncs now and is its newest report."""
    catalog = report.catalog
    latest = ReconciliationReport.objects.latest_for(catalog)
    return catalog.store_id is not None and latest is not None and latest.pk == report.pk


@transaction.atomic(durable=True)
def confirm_import(report: ReconciliationReport, *, user=None, delete_unmatched: bool = False,
                   via: str = "", queue: bool = True) -> ReconciliationReport:
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
        Variant.objects.for_tenant(report.tenant_id).filter(product__store_id=catalog.store_id).exclude(
            catalog=catalog
        ).update(catalog=catalog, meta_status=Variant.SyncStatus.PENDING, synced_hash="", updated_at=now)
    rows = ReconciliationRow.objects.filter(report=report, variant__isnull=False).select_related(
        "variant", "variant__product"
    )
    for chunk in _keyset(rows, ROW_CHUNK):
        _apply_import_rows(report, catalog, chunk, now)
    if report.delete_unmatched:
        for chunk in _keyset(ReconciliationRow.objects.filter(report=report, kind=Kind.META_ONLY), ROW_CHUNK):
            _queue_deletions(report, catalog, [r.meta_retailer_id for r in chunk if r.meta_retailer_id],
                             MetaItemDeletion.Reason.UNMATCHED, report.delete_unmatched_chosen_by)
    with transaction.atomic():
        Catalog.objects.filter(pk=catalog.pk).update(sync_enabled=True, updated_at=now)
        ReconciliationReport.objects.filter(pk=report.pk).update(state=State.APPLIED, finished_at=now)
        enqueue("catalog.tasks.push_catalog", catalog.pk, group=f"push:{catalog.pk}")
    report.refresh_from_db()
    logger.info("report %s applied: catalog %s now synced by Galantis", report.pk, catalog.pk)
    return report


def _apply_import_rows(report, catalog, rows: list[ReconciliationRow], now) -> None:
    variants, replaced = {}, []
    for row in rows:
        variant = variants.setdefault(row.variant_id, row.variant)
        variant.catalog = catalog
        variant.updated_at = now
        variant.meta_retailer_id = ""
        if row.kind == Kind.MATCHED:
            current = items.payload_hash(items.meta_item(variant, variant.product, catalog.store))
            variant.meta_item_id = row.meta_item_id
            variant.payload_hash = current
            if current == row.our_hash:  # unchanged since the report: Meta has exactly this
                variant.meta_status = Variant.SyncStatus.SYNCED
                variant.synced_hash = current
                variant.synced_at = now
            else:
                variant.meta_status = Variant.SyncStatus.PENDING
                variant.synced_hash = ""
            variant.last_error = variant.last_error_code = ""
        elif row.kind == Kind.DIFFERENT:
            variant.meta_item_id = row.meta_item_id
            variant.synced_hash = ""
            variant.meta_status = Variant.SyncStatus.PENDING
            variant.last_error = variant.last_error_code = ""
        elif row.kind == Kind.ID_CHANGE:
            variant.meta_item_id = ""  # ours will be a new item that takes over the old one's history
            variant.previous_id = row.meta_retailer_id[:100]
            variant.synced_hash = ""
            variant.meta_status = Variant.SyncStatus.PENDING
            variant.last_error = variant.last_error_code = ""
            replaced.append(row.meta_retailer_id)
        elif row.kind == Kind.MISSING_IN_META:
            variant.synced_hash = ""
            if variant.meta_status == Variant.SyncStatus.SYNCED:
                variant.meta_status = Variant.SyncStatus.PENDING
    Variant.objects.bulk_update(
        list(variants.values()),
        ["catalog", "meta_item_id", "meta_retailer_id", "previous_id", "payload_hash", "synced_hash", "meta_status",
         "synced_at", "last_error", "last_error_code", "updated_at"],
        batch_size=500,
    )
    if replaced:
        _queue_deletions(report, catalog, replaced, MetaItemDeletion.Reason.REPLACED, None)


def _queue_deletions(report, catalog, retailer_ids: list[str], reason: str, user) -> None:
    # Never queue one of our own ids (an exact match elsewhere owns it).
    ours = set(
        Variant.objects.for_tenant(catalog.tenant_id).filter(catalog=catalog, retailer_id__in=retailer_ids)
        .values_list("retailer_id", flat=True)
    )
    MetaItemDeletion.objects.bulk_create(
        [
            MetaItemDeletion(tenant_id=catalog.tenant_id, catalog=catalog, retailer_id=rid, reason=reason,
                             report=report, chosen_by=user)
            for rid in dict.fromkeys(retailer_ids)
            if rid not in ours
        ],
        batch_size=500,
        ignore_conflicts=True,
    )


def apply_link(report: ReconciliationReport) -> ReconciliationReport:
    """Map a read-only catalog's items to variants (for product messages); nothing is written to Meta.

    Variants found in the catalog are SYNCED (they are live there) and remember the
    item's id when it differs from ours; variants not in it are FAILED with the fix.
    """
    catalog = report.catalog
    now = timezone.now()
    rows = ReconciliationRow.objects.filter(report=report, variant__isnull=False).select_related(
        "variant", "variant__product"
    )
    for chunk in _keyset(rows, ROW_CHUNK):
        variants = {}
        for row in chunk:
            variant = variants.setdefault(row.variant_id, row.variant)
            variant.catalog = catalog
            variant.updated_at = now
            variant.in_flight_batch = None
            if row.kind == Kind.MISSING_IN_META:
                variant.meta_status = Variant.SyncStatus.FAILED
                variant.meta_item_id = variant.meta_retailer_id = ""
                variant.last_error_code = "NOT_IN_LINKED_CATALOG"
                variant.last_error = (
                    "This variant is not in the linked catalog, which another tool manages. Fix: add it with "
                    "that tool, or switch the catalog to “Import” so Galantis keeps it in sync."
                )
            else:
                variant.meta_status = Variant.SyncStatus.SYNCED
                variant.meta_item_id = row.meta_item_id
                variant.meta_retailer_id = "" if row.meta_retailer_id == variant.retailer_id else row.meta_retailer_id
                variant.payload_hash = variant.synced_hash = row.our_hash
                variant.synced_at = now
                variant.last_error = variant.last_error_code = ""
        Variant.objects.bulk_update(
            list(variants.values()),
            ["catalog", "meta_status", "meta_item_id", "meta_retailer_id", "payload_hash", "synced_hash",
             "synced_at", "last_error", "last_error_code", "in_flight_batch", "updated_at"],
            batch_size=500,
        )
    ReconciliationReport.objects.filter(pk=report.pk).update(state=State.APPLIED, applied_at=now)
    report.refresh_from_db()
    return report


def _keyset(queryset: QuerySet, size: int) -> Iterator[list]:
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:size])
        if not chunk:
            return
        last = chunk[-1].pk
        yield chunk


# -- deleting replaced / chosen Meta items ------------------------------------------------------


def deletions_ready(catalog: Catalog) -> QuerySet[MetaItemDeletion]:
    """Queued deletions that may go now.

    A replaced id goes only once every variant that took it over (``previous_id``) is
    SYNCED, so the item never vanishes before its successor exists. Our own retailer
    ids are never deleted.
    """
    variants = Variant.objects.filter(catalog=catalog)
    successor_not_synced = variants.filter(previous_id=OuterRef("retailer_id")).exclude(
        meta_status=Variant.SyncStatus.SYNCED
    )
    successor_exists = variants.filter(previous_id=OuterRef("retailer_id"))
    ours = variants.filter(retailer_id=OuterRef("retailer_id"))
    return (
        MetaItemDeletion.objects.for_tenant(catalog.tenant_id)
        .filter(catalog=catalog)
        .waiting()
        .filter(~Exists(ours))
        .filter(
            Q(reason=MetaItemDeletion.Reason.UNMATCHED)
            | (Q(reason=MetaItemDeletion.Reason.REPLACED) & Exists(successor_exists) & ~Exists(successor_not_synced))
        )
    )


def send_deletions(catalog: Catalog) -> int:
    """Send DELETE for the ready queued items in one ``items_batch`` call; return how many were sent.

    The push pipeline calls this after each run; read-only catalogs are refused.
    """
    ensure_writable(catalog)
    if not catalog.sync_enabled or catalog.paused_reason or catalog.connection is None:
        return 0
    batch = list(deletions_ready(catalog).order_by("pk")[:MAX_DELETES_PER_BATCH])
    if not batch:
        return 0
    requests = [{"method": "DELETE", "data": {"id": d.retailer_id}} for d in batch]
    client = GraphClient.for_connection(catalog.connection)
    try:
        response = client.post(
            f"{catalog.meta_catalog_id}/items_batch", {"item_type": "PRODUCT_ITEM", "requests": requests}
        )
    except GraphAPIError as exc:
        logger.warning("catalog %s: deleting %s old items failed with code %s", catalog.pk, len(batch), exc.code)
        if not exc.is_transient:
            MetaItemDeletion.objects.filter(pk__in=[d.pk for d in batch]).update(
                error=redact(exc.message or str(exc))[:500]
            )
        return 0
    handle = (response.get("handles") or [""])[0]
    rejected = {
        str(status.get("retailer_id")): "; ".join(e.get("message", "") for e in status.get("errors") or [])
        for status in response.get("validation_status") or []
        if status.get("errors")
    }
    now = timezone.now()
    sent = [d.pk for d in batch if d.retailer_id not in rejected]
    MetaItemDeletion.objects.filter(pk__in=sent).update(
        state=MetaItemDeletion.State.SENT, handle=handle[:255], sent_at=now, error=""
    )
    for deletion in batch:
        if deletion.retailer_id in rejected:
            MetaItemDeletion.objects.filter(pk=deletion.pk).update(
                state=MetaItemDeletion.State.FAILED, error=redact(rejected[deletion.retailer_id])[:500]
            )
    return len(sent)
