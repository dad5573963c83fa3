"""Apply item requests (from a Batch API call or a feed upload) to a catalog's items.

Requests are applied in line order against the stored items, so several requests
for one item in the same batch combine like they do on Meta. Lines with errors are
not persisted; the rest are written with one upsert (``bulk_create`` with
``update_conflicts``) and one delete per chunk, so a 5,000-line batch costs a
handful of queries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connections, router
from django.db.models import DateTimeField, F, JSONField, Model

from galantis.jsonb import jsonb_text

from ..models import ProductCatalog, ProductGroup, ProductItem
from . import taxonomy
from .validation import Issue, ItemRequest, check_fields, check_required, price_columns, recommended_warnings

WRITE_CHUNK = 500  # rows per INSERT ... ON CONFLICT / DELETE statement
LOOKUP_CHUNK = 2000  # ids per IN (...) lookup; stays under SQLite's variable limit

ITEM_UPDATE_FIELDS = [
    "group",
    "item_group_id",
    "data",
    "title",
    "availability",
    "condition",
    "brand",
    "product_type",
    "visibility",
    "currency",
    "price_amount",
    "sale_price_amount",
    "review_status",
    "review_outcome",
    "review_due_at",
    "image_fetch_status",
    "errors",
    "error_keys",
    "updated_at",
]


@dataclass
class Outcome:
    """What applying a set of requests did, line by line."""

    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    invalid_ids: list[str] = field(default_factory=list)
    invalid_lines: set[int] = field(default_factory=set)
    upserted: int = 0
    deleted: int = 0

    def add(self, request: ItemRequest, issues: list[Issue], *, warning: bool = False) -> None:
        target = self.warnings if warning else self.errors
        for issue in issues:
            target.append(
                {"line": request.line, "id": request.retailer_id, "message": issue.message, "priority": issue.priority}
            )
        if issues and not warning and request.line not in self.invalid_lines:
            self.invalid_lines.add(request.line)
            self.invalid_ids.append(request.retailer_id)


def chunks(values: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def merged(current: dict | None, changes: dict) -> dict:
    """An UPDATE: the stored item with the sent fields; an empty value clears a field."""
    item = dict(current or {})
    for name, value in changes.items():
        if value is None or value == "":
            item.pop(name, None)
        else:
            item[name] = value
    return item


def _matching(catalog: ProductCatalog, column: str, values: Iterable[str], *selected: str) -> list[tuple]:
    """``selected`` columns of the catalog's items whose ``column`` is one of ``values``.

    On PostgreSQL one statement with the values as one bound array (``= ANY``): an
    ``IN (...)`` of a thousand ids costs Django and psycopg a quoted literal per id
    (feed upload profile: the item lookups were a seventh of the sandbox's CPU).
    """
    values = list(values)
    if not values:
        return []
    connection = connections[router.db_for_read(ProductItem)]
    if connection.vendor != "postgresql":
        found: list[tuple] = []
        for chunk in chunks(values, LOOKUP_CHUNK):
            found += ProductItem.objects.filter(catalog=catalog, **{f"{column}__in": chunk}).values_list(*selected)
        return found
    import psycopg

    quote = connection.ops.quote_name
    sql = (
        f"SELECT {', '.join(quote(name) for name in selected)} FROM {quote(ProductItem._meta.db_table)} "
        f"WHERE {quote('catalog_id')} = %b AND {quote(column)} = ANY(%b::text[])"
    )
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, [catalog.pk, values])
        return cursor.fetchall()


def _stored_items(catalog: ProductCatalog, retailer_ids: set[str]) -> dict[str, dict]:
    """The stored data of these items (those that exist)."""
    return {
        rid: json.loads(data) if isinstance(data, str) else data
        for rid, data in _matching(catalog, "retailer_id", retailer_ids, "retailer_id", "data")
    }


def _group_collisions(catalog: ProductCatalog, requests: list[ItemRequest]) -> tuple[set[str], set[str]]:
    """(item ids that are also group ids, group ids that are also item ids) across catalog and batch."""
    writes = [r for r in requests if r.method in ("CREATE", "UPDATE")]
    item_ids = {r.retailer_id for r in writes}
    group_ids = {str(r.data["item_group_id"]) for r in writes if r.data.get("item_group_id")}
    items_named_like_groups = {g for g in group_ids if g in item_ids}
    groups_named_like_items = set(items_named_like_groups)
    items_named_like_groups.update(rid for (rid,) in _matching(catalog, "retailer_id", group_ids, "retailer_id"))
    groups_named_like_items.update(gid for (gid,) in _matching(catalog, "item_group_id", item_ids, "item_group_id"))
    return items_named_like_groups, groups_named_like_items


def _collision_issue(retailer_id: str, item: dict, id_groups: set[str], group_ids: set[str]) -> Issue | None:
    group = str(item.get("item_group_id") or "")
    # An item's group id may equal its own id (single-variant products); it may not name another item.
    if (group and group != retailer_id and group in id_groups) or (retailer_id in group_ids and group != retailer_id):
        return Issue(
            "(#10800) Duplicate retailer_id when attempting to create a product group: the id "
            f"'{group if group in id_groups else retailer_id}' is used both by an item and by an item group."
        )
    return None


def apply_requests(
    catalog: ProductCatalog,
    requests: list[ItemRequest],
    *,
    now: datetime,
    review_delay: float,
    allow_upsert: bool = True,
    feed_id: int | None = None,
    upload_id: int | None = None,
) -> Outcome:
    """Validate and apply requests in line order; persist the valid ones in bulk."""
    outcome = Outcome()
    # A CREATE replaces whatever is stored: only UPDATEs read the stored item, and only
    # DELETEs ask whether it exists (a replace feed of a million CREATEs reads nothing).
    stored = _stored_items(catalog, {r.retailer_id for r in requests if r.retailer_id and r.method == "UPDATE"})
    to_delete = {r.retailer_id for r in requests if r.retailer_id and r.method == "DELETE"} - stored.keys()
    existing = stored.keys() | {rid for (rid,) in _matching(catalog, "retailer_id", to_delete, "retailer_id")}
    id_groups, group_ids = _group_collisions(catalog, requests)
    state: dict[str, dict | None] = {}
    for request in sorted(requests, key=lambda r: r.line):
        if request.errors:
            outcome.add(request, request.errors)
            outcome.add(request, request.warnings, warning=True)
            continue
        rid = request.retailer_id
        current = state[rid] if rid in state else stored.get(rid)
        if request.method == "DELETE":
            state[rid] = None
            continue
        if request.method == "UPDATE" and current is None and not allow_upsert:
            outcome.add(
                request, [Issue(f"Item {rid} does not exist; the update was not applied (allow_upsert=false).")]
            )
            continue
        candidate = merged(current if request.method == "UPDATE" else None, request.data)
        candidate["id"] = rid
        issues = check_fields(request.data) + check_required(candidate)
        if collision := _collision_issue(rid, candidate, id_groups, group_ids):
            issues.append(collision)
        if issues:
            outcome.add(request, issues)
            outcome.add(request, request.warnings, warning=True)
            continue
        outcome.add(request, request.warnings + recommended_warnings(candidate), warning=True)
        state[rid] = candidate
    upserts = {rid: item for rid, item in state.items() if item is not None}
    deletes = [rid for rid, item in state.items() if item is None and rid in existing]
    outcome.upserted = _write_items(catalog, upserts, now, review_delay, feed_id, upload_id)
    outcome.deleted = delete_items(catalog, deletes)
    return outcome


def item_columns(item: dict) -> dict:
    """The denormalised columns of an item (what filters and the admin read)."""
    currency, price, sale = price_columns(item)
    visibility = item.get("visibility") or "published"
    return {
        "item_group_id": str(item.get("item_group_id") or ""),
        "title": str(item.get("title") or "")[:255],
        "availability": str(item.get("availability") or ""),
        "condition": str(item.get("condition") or ""),
        "brand": str(item.get("brand") or "")[:255],
        "product_type": str(item.get("product_type") or "")[:1000],
        "visibility": "staging" if visibility == "hidden" else visibility,
        "currency": currency,
        "price_amount": price,
        "sale_price_amount": sale,
    }


def _write_items(
    catalog: ProductCatalog,
    items: dict[str, dict],
    now: datetime,
    review_delay: float,
    feed_id: int | None,
    upload_id: int | None,
) -> int:
    if not items:
        return 0
    group_ids = {str(item["item_group_id"]) for item in items.values() if item.get("item_group_id")}
    groups = _ensure_groups(catalog, group_ids)
    review_due = now + timedelta(seconds=review_delay)
    # A review due at once is done at once: writing PENDING and flipping every row on the
    # next call (complete_due_reviews) doubled the database work of a big feed upload.
    reviewed_now = review_delay <= 0
    update_fields = list(ITEM_UPDATE_FIELDS)
    if feed_id is not None:
        update_fields += ["feed", "seen_in_upload"]
    written = 0
    for chunk in chunks(items.items(), WRITE_CHUNK):
        rows = []
        for rid, item in chunk:
            checked = taxonomy.check_item(item)
            columns = item_columns(item)
            rows.append(
                {
                    "catalog": catalog.pk,
                    "retailer_id": rid,
                    "group": groups.get(columns["item_group_id"]),
                    "data": item,
                    "review_status": checked.review_outcome if reviewed_now else ProductItem.ReviewStatus.PENDING,
                    "review_outcome": checked.review_outcome,
                    "review_due_at": review_due,
                    "image_fetch_status": checked.image_fetch_status,
                    "errors": checked.errors,
                    "error_keys": taxonomy.error_keys(checked.errors),
                    "feed": feed_id,
                    "seen_in_upload": upload_id,
                    "created_at": now,
                    "updated_at": now,
                    **columns,
                }
            )
        upsert(ProductItem, rows, unique_fields=["catalog", "retailer_id"], update_fields=update_fields)
        written += len(rows)
    return written


def upsert(model: type[Model], rows: list[dict], *, unique_fields: list[str], update_fields: list[str]) -> None:
    """``INSERT ... ON CONFLICT (...) DO UPDATE`` of many rows in one or a few statements.

    Same effect as ``bulk_create(update_conflicts=True)`` (SQLite and PostgreSQL), but
    without the per-value SQL compilation that makes a 5,000-item batch cost seconds on
    SQLite (36 rows per statement there): one prepared statement for ``executemany``.
    On PostgreSQL one statement takes every row as column arrays (``unnest``). Rows are
    dicts keyed by field name (foreign keys by their id).
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in rows[0]]
    columns = ", ".join(quote(f.column) for f in fields)
    conflict = ", ".join(quote(model._meta.get_field(name).column) for name in unique_fields)
    updates = ", ".join(
        f"{quote(column)} = EXCLUDED.{quote(column)}"
        for column in (model._meta.get_field(name).column for name in update_fields)
    )
    suffix = f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    table = quote(model._meta.db_table)
    if connection.vendor == "postgresql":
        _upsert_postgresql(connection, f"INSERT INTO {table} ({columns})", suffix, fields, rows)
        return
    adapt = [isinstance(f, JSONField | DateTimeField) for f in fields]
    params = [
        tuple(
            field.get_db_prep_save(row[field.name], connection) if needs_adapting else row[field.name]
            for field, needs_adapting in zip(fields, adapt, strict=True)
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) {suffix}", params
        )


def _upsert_postgresql(connection, insert: str, suffix: str, fields: list, rows: list[dict]) -> None:
    """All rows in one statement: a typed array per column, ``unnest``-ed back into rows.

    Django's psycopg cursors bind client-side, so ``executemany`` made every row its own
    SQL text, quoted in Python, then parsed and planned by PostgreSQL: for a feed upload,
    half the sandbox's CPU and as much again in the database (bench profile). Here the
    statement text is constant (prepared once) and the values travel bound, one array
    per column, with a plain (server-side binding) psycopg cursor.
    """
    import psycopg

    arrays, casts = [], []
    for model_field in fields:
        values = [row[model_field.name] for row in rows]
        typed = model_field if model_field.remote_field is None else model_field.target_field
        if isinstance(model_field, JSONField):
            # Encoded here like Django's JSONField would (its encoder), cast back in SQL.
            values = [None if v is None else jsonb_text(v, model_field.encoder) for v in values]
        arrays.append(values)
        casts.append(f"%b::{typed.db_type(connection)}[]")  # %b: binary, no text escaping per value
    select = f"SELECT * FROM unnest({', '.join(casts)})"
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(f"{insert} {select} {suffix}", arrays)


def _ensure_groups(catalog: ProductCatalog, retailer_ids: set[str]) -> dict[str, int]:
    if not retailer_ids:
        return {}
    groups: dict[str, int] = {}
    for chunk in chunks(sorted(retailer_ids), WRITE_CHUNK):
        ProductGroup.objects.bulk_create(
            [ProductGroup(catalog=catalog, retailer_id=rid) for rid in chunk], ignore_conflicts=True
        )
        groups.update(
            ProductGroup.objects.filter(catalog=catalog, retailer_id__in=chunk).values_list("retailer_id", "pk")
        )
    return groups


def delete_items(catalog: ProductCatalog, retailer_ids: Iterable[str]) -> int:
    """Delete items by retailer id in chunks; return how many were deleted."""
    deleted = 0
    for chunk in chunks(retailer_ids, WRITE_CHUNK):
        deleted += ProductItem.objects.filter(catalog=catalog, retailer_id__in=chunk).delete()[0]
    return deleted


def complete_due_reviews(catalog: ProductCatalog, now: datetime) -> int:
    """Finish the simulated item review of items whose review time has come (one UPDATE)."""
    due = ProductItem.objects.filter(
        catalog=catalog, review_status=ProductItem.ReviewStatus.PENDING, review_due_at__lte=now
    )
    # Check first: most reads find nothing due, and a read is cheaper than a write lock.
    return due.update(review_status=F("review_outcome")) if due.exists() else 0
