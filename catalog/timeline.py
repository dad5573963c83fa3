"""The per-item timeline: write events in bulk, read them a page at a time (issue 19 part 1).

Writers pair each bulk UPDATE of variants with one ``INSERT ... SELECT`` built from the same
queryset (:func:`record_from`), so a batch of 5,000 items costs one more statement, not
5,000; paths that hold the variants in memory use :func:`record_rows` (``COPY`` on PostgreSQL,
``bulk_create`` elsewhere). Readers page newest first by the keyset (``at``, ``id``) on the
(variant_id, at, id) index: the first page of a variant with 100,000 events reads 50 rows.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, models
from django.db.models import Expression, JSONField, Value
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .copy_upsert import insert_rows
from .models import Variant, VariantEvent

Kind = VariantEvent.Kind
# Rows per bulk_create of in-memory rows (SQLite caps the parameters of one statement).
WRITE_BATCH = 500
PAGE_SIZE = 50
# Rows per DELETE of the retention purge: short transactions on a big table.
PURGE_BATCH = 10_000

_COLUMNS = ("tenant_id", "variant_id", "product_id", "catalog_id", "batch_id", "kind", "at", "detail", "message")
# Where a variant queryset finds the event's tenant, variant, product and catalog.
VARIANT_SOURCE = ("tenant_id", "pk", "product_id", "catalog_id")


def record_from(
    variants: models.QuerySet,
    kind: str | Expression,
    *,
    at: datetime | None = None,
    detail: dict | None = None,
    batch_id: int | None = None,
    message: str | Expression = "",
    source: tuple[str, str, str, str] = VARIANT_SOURCE,
) -> int:
    """One event per variant of ``variants``, in one ``INSERT ... SELECT``; return the rows written.

    ``kind`` (and ``message``) may be an expression over the variant row (a ``Case``), so
    one statement records different outcomes; a ``kind`` that evaluates to "" writes no row.
    Call it *before* the UPDATE that moves the variants out of the queryset's filter.
    ``source``: the (tenant, variant, product, catalog) lookups when ``variants`` is a queryset
    of another model that names a variant (an item issue: ``variant_id``, ``variant__product_id``).
    """
    at = at or timezone.now()
    kind_expr = kind if isinstance(kind, Expression) else Value(kind)
    message_expr = message if isinstance(message, Expression) else Value(message[:500])
    rows = (
        variants.order_by()
        .annotate(
            _kind=models.functions.Cast(kind_expr, models.CharField()),
            _at=Value(at, output_field=models.DateTimeField()),
            _detail=Value(detail or {}, output_field=JSONField()),
            _batch=Value(batch_id, output_field=models.BigIntegerField()),
            _message=models.functions.Substr(models.functions.Cast(message_expr, models.TextField()), 1, 500),
        )
        .exclude(_kind="")
        .values_list(*source, "_batch", "_kind", "_at", "_detail", "_message")
    )
    try:
        select_sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    except EmptyResultSet:  # e.g. ``pk__in=[]``: nothing to record, no statement
        return 0
    table = connection.ops.quote_name(VariantEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {select_sql}", params)
        return max(cursor.rowcount, 0)


@dataclass(frozen=True)
class Row:
    """One event of a variant held in memory."""

    tenant_id: int
    variant_id: int
    kind: str
    product_id: int | None = None
    catalog_id: int | None = None
    batch_id: int | None = None
    detail: dict | None = None
    message: str = ""

    @classmethod
    def of(
        cls, variant: Variant, kind: str, *, detail: dict | None = None, message: str = "", batch_id: int | None = None
    ) -> Row:
        """The event ``kind`` of ``variant``, under the tenant, product and catalog it holds now."""
        return cls(
            tenant_id=variant.tenant_id,
            variant_id=variant.pk,
            product_id=variant.product_id,
            catalog_id=variant.catalog_id,
            batch_id=batch_id,
            kind=kind,
            detail=detail,
            message=message,
        )

    def values(self, at: datetime) -> tuple:
        """The row's columns in ``_COLUMNS`` order, as written."""
        return (
            self.tenant_id,
            self.variant_id,
            self.product_id,
            self.catalog_id,
            self.batch_id,
            self.kind,
            at,
            self.detail or {},
            self.message[:500],
        )


def record_rows(rows: Iterable[Row], *, at: datetime | None = None) -> int:
    """Write events of variants held in memory (``COPY`` on PostgreSQL); return how many."""
    at = at or timezone.now()
    return insert_rows(VariantEvent, _COLUMNS, (row.values(at) for row in rows))


def record_one(
    variant: Variant, kind: str, *, detail: dict | None = None, message: str = "", batch_id: int | None = None
) -> VariantEvent:
    """One event of one variant (a staff edit, a re-review request of one item)."""
    row = Row.of(variant, kind, detail=detail, message=message, batch_id=batch_id)
    return VariantEvent.objects.create(**dict(zip(_COLUMNS, row.values(timezone.now()), strict=True)))


# --- Reading -------------------------------------------------------------------------------------


@dataclass
class Page:
    events: list[VariantEvent]
    next_cursor: str  # "" on the last page


def encode_cursor(event: VariantEvent) -> str:
    return base64.urlsafe_b64encode(f"{event.at.isoformat()}|{event.pk}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """(at, id) from a cursor; None for a missing or malformed one (the first page is shown)."""
    try:
        at_text, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        at = parse_datetime(at_text)
        return (at, int(pk)) if at else None
    except (ValueError, UnicodeDecodeError):
        return None


def page(events: models.QuerySet[VariantEvent], cursor: str = "", size: int = PAGE_SIZE) -> Page:
    """One page of ``events`` newest first, after ``cursor`` (keyset on (at, id), no OFFSET)."""
    qs = events.newest_first()
    key = decode_cursor(cursor) if cursor else None
    if key:
        qs = qs.before(*key)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(rows[-1]) if more and rows else "")


def variant_page(variant: Variant, cursor: str = "", size: int = PAGE_SIZE) -> Page:
    """The timeline of one variant (tenant-scoped by the variant the caller already checked)."""
    return page(VariantEvent.objects.for_tenant(variant.tenant_id).for_variant(variant.pk), cursor, size)


def product_page(product_id: int, tenant_id: int, cursor: str = "", size: int = PAGE_SIZE) -> Page:
    """The timeline of every variant of one product, merged."""
    return page(VariantEvent.objects.for_tenant(tenant_id).for_product(product_id), cursor, size)


def describe(event: VariantEvent) -> str:
    """The event in the merchant's words (:attr:`VariantEvent.summary`)."""
    return event.summary


# --- Retention -----------------------------------------------------------------------------------


def purge_expired(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete events older than TIMELINE_RETENTION_DAYS in bounded chunks; return how many."""
    days = settings.TIMELINE_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(VariantEvent.objects.filter(at__lt=cutoff).order_by("at").values_list("pk", flat=True)[:PURGE_BATCH])
        if not ids:
            return deleted
        # No relation points at an event and no signal listens: Django deletes in one DELETE.
        deleted += VariantEvent.objects.filter(pk__in=ids).delete()[0]


def kinds_for_verdict(verdict: str) -> str:
    """The event kind of a derived verdict (``Variant.Verdict``)."""
    return {
        Variant.Verdict.LIVE: Kind.LIVE,
        Variant.Verdict.REJECTED: Kind.REVIEW_REJECTED,
        Variant.Verdict.NOT_VISIBLE: Kind.NOT_VISIBLE,
        Variant.Verdict.IN_REVIEW: Kind.IN_REVIEW,
    }.get(verdict, Kind.REVIEW)


def batch_detail(kind: str) -> dict:
    return {"via": kind}
