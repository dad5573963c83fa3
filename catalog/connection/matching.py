"""Matching an existing Meta catalog's items to Shopify variants, and comparing their fields.

Read items are stored as report rows first; matching then runs as passes over the
still-unmatched rows (see ``catalog.connection.reconcile`` for the order), in bounded
keyset-paged chunks, so the result does not depend on the order Meta pages items in.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from catalog import items
from catalog.models import Product, ReconciliationReport, ReconciliationRow, Variant
from galantis.chunks import keyset_chunks

Kind = ReconciliationRow.Kind
Method = ReconciliationRow.Method

# Rows written / matched per round trip: bounded memory at a million items.
ROW_CHUNK = 1000

# Our items_batch field -> the Graph field Meta returns when reading an item (docs/graph-api.md §4).
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
    # An ISO code in the text wins, then Meta's own ``currency`` field, then the symbol.
    currency = match.group(1) if match else currency_hint
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
        return Decimal(number), currency
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
            differences.append(
                {
                    "field": field,
                    "ours": "" if mine is None else str(mine),
                    "meta": "" if theirs is None else str(theirs),
                }
            )
    return differences


def _meta_values(node: dict) -> dict:
    keep = ("currency", *COMPARED_FIELDS.values())
    return {k: node[k] for k in keep if node.get(k) not in (None, "")}


def store_meta_items(report: ReconciliationReport, nodes: list[dict]) -> None:
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
        rows = ReconciliationRow.objects.filter(report=self.report, kind=Kind.META_ONLY, variant__isnull=True)
        yield from keyset_chunks(rows.exclude(meta_retailer_id=""), ROW_CHUNK)

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
        """Write matched rows back: delete and re-insert under the same ids.

        ``bulk_update`` builds one CASE expression per row and field in Python, minutes
        for a million rows; these rows are ours alone, so replacing them is the fast path.
        """
        if not rows:
            return
        with transaction.atomic():
            ReconciliationRow.objects.filter(pk__in=[row.pk for row in rows]).delete()
            ReconciliationRow.objects.bulk_create(rows, batch_size=500)

    def match_unique(
        self,
        chunk: list[ReconciliationRow],
        candidates_for: Callable[[ReconciliationRow], list[Variant]],
        method: str,
        ambiguous: Callable[[ReconciliationRow, int], str],
    ) -> None:
        """Match each row of ``chunk`` that has exactly one candidate variant; note (``ambiguous``) those with several.

        A row with several candidates gets none: guessing would tie a Meta item to the wrong variant.
        """
        matched, noted = [], []
        for row in chunk:
            candidates = candidates_for(row)
            if len(candidates) == 1:
                self.match(row, candidates[0], method)
                matched.append(row)
            elif len(candidates) > 1:
                row.note = ambiguous(row, len(candidates))
                noted.append(row)
        self.save(matched)
        self.save(noted)

    # passes -----------------------------------------------------------------------------------

    def by_retailer_id(self) -> None:
        for chunk in self.unmatched_rows():
            found = {
                v.retailer_id: v for v in self.variants().filter(retailer_id__in=[r.meta_retailer_id for r in chunk])
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
            self.match_unique(
                chunk,
                lambda row, by_sku=by_sku: by_sku.get(row.meta_retailer_id, []),
                Method.SKU,
                lambda row, n: f"SKU {row.meta_retailer_id} is shared by {n} Shopify variants",
            )

    def by_product(self) -> None:
        for chunk in self.unmatched_rows():
            ids = {r.meta_retailer_id for r in chunk}
            numeric = [int(i) for i in ids if i.isdigit() and len(i) < 19]
            products = {}
            for product in (
                Product.objects.for_tenant(self.tenant_id)
                .filter(store=self.store)
                .filter(Q(shopify_product_id__in=numeric) | Q(handle__in=ids))
            ):
                products[str(product.shopify_product_id)] = product
                products.setdefault(product.handle, product)
            if not products:
                continue
            by_product: dict[int, list[Variant]] = defaultdict(list)
            for variant in (
                self.unmatched_variants()
                .filter(product__in={p.pk for p in products.values()})
                .order_by("product_id", "position", "pk")
            ):
                by_product[variant.product_id].append(variant)
            matched, extra = [], []
            for row in chunk:
                product = products.get(row.meta_retailer_id)
                variants = by_product.pop(product.pk, []) if product else []
                note = f"{len(variants)} Shopify variant(s) replace this one item" if len(variants) > 1 else ""
                for n, variant in enumerate(variants):
                    target = (
                        row
                        if n == 0
                        else ReconciliationRow(
                            tenant_id=self.tenant_id,
                            report=self.report,
                            meta_item_id=row.meta_item_id,
                            meta_retailer_id=row.meta_retailer_id,
                            meta_name=row.meta_name,
                            meta_values=row.meta_values,
                        )
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

            def fitting(row: ReconciliationRow, by_title=by_title, taken=taken) -> list[Variant]:
                # Two Meta items of one title must not both take the same variant: a match takes it.
                found = [
                    v
                    for v in by_title.get(_title_key(row.meta_name), [])
                    if v.pk not in taken and _options_fit(v, row.meta_values)
                ]
                if len(found) == 1:
                    taken.add(found[0].pk)
                return found

            self.match_unique(
                chunk,
                fitting,
                Method.TITLE,
                lambda row, n: f"{n} Shopify variants of “{row.meta_name[:80]}” fit; none chosen",
            )

    def add_missing(self) -> None:
        """One row per eligible Shopify variant that no Meta item matched."""
        eligible = self.unmatched_variants().filter(
            removed_at__isnull=True,
            product__status=Product.Status.ACTIVE,
            product__published=True,
            product__excluded_from_meta=False,
            product__removed_at__isnull=True,
        )
        for chunk in keyset_chunks(eligible, ROW_CHUNK):
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
