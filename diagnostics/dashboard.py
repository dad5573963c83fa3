"""Queries behind the staff sync dashboard: a fixed number of grouped queries for all catalogs shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from catalog.models import Catalog, GraphThrottle, SyncBatch

from . import error_catalog as ec
from . import states
from .health import StatusCounts, pause_reason
from .models import CatalogIssue, DiagnosticsRun

# Catalogs listed on one dashboard page (staff filter by tenant beyond that).
DASHBOARD_LIMIT = 200
# Meta's Catalog Batch quota is 200 + 200·log2(unique users) calls per hour per catalog;
# 200 is the floor every catalog has (docs/graph-api.md §2).
BATCH_CALLS_PER_HOUR = 200
THROUGHPUT_HOURS = 24
# A usage reading older than this says nothing about Meta's rolling one-hour window.
USAGE_FRESH = timedelta(minutes=10)


@dataclass
class CatalogRow:
    catalog: Catalog
    counts: StatusCounts
    batch_calls_last_hour: int = 0
    in_flight: int = 0
    open_issues: dict[str, str] = field(default_factory=dict)  # code -> title
    # What Meta's usage headers last said (GraphThrottle), per quota bucket.
    batch_usage: GraphThrottle | None = None
    management_usage: GraphThrottle | None = None
    now: datetime | None = None

    @property
    def used_pct(self) -> int:
        """Share of the Catalog Batch quota used: Meta's own figure when fresh, else our call count."""
        usage = self.batch_usage
        if usage is not None and self.now and usage.updated_at >= self.now - USAGE_FRESH:
            return min(round(usage.usage_pct), 100)
        return min(round(100 * self.batch_calls_last_hour / BATCH_CALLS_PER_HOUR), 100)

    @property
    def headroom_pct(self) -> int:
        return 100 - self.used_pct

    @property
    def blocked_until(self) -> datetime | None:
        until = [u.blocked_until for u in (self.batch_usage, self.management_usage) if u and u.blocked_until]
        latest = max(until, default=None)
        return latest if latest and self.now and latest > self.now else None

    @property
    def rate_limited(self) -> bool:
        return self.blocked_until is not None or ec.RATE_LIMITED in self.open_issues

    @property
    def paused(self) -> bool:
        return bool(self.pause_reason)

    @property
    def pause_reason(self) -> str:
        return pause_reason(self.catalog)


@dataclass
class Dashboard:
    rows: list[CatalogRow]
    in_flight: list[SyncBatch]
    throughput: list[dict]
    truncated: bool

    @property
    def paused(self) -> list[CatalogRow]:
        return [r for r in self.rows if r.paused]

    @property
    def totals(self) -> StatusCounts:
        return sum((r.counts for r in self.rows), StatusCounts())

    @property
    def items_last_24h(self) -> int:
        return sum(int(p["items"] or 0) for p in self.throughput)


def annotated_catalogs(catalogs: QuerySet[Catalog]) -> QuerySet[Catalog]:
    """Catalogs with their last finished batch and last diagnostics poll (subqueries, one query)."""
    batches = SyncBatch.objects.filter(catalog=OuterRef("pk"), state=SyncBatch.State.FINISHED)
    runs = DiagnosticsRun.objects.filter(catalog=OuterRef("pk"), kind=DiagnosticsRun.Kind.POLL)
    return catalogs.select_related("tenant", "connection", "store").annotate(
        last_batch_at=Subquery(batches.order_by("-finished_at").values("finished_at")[:1]),
        last_poll_at=Subquery(runs.order_by("-started_at").values("started_at")[:1]),
        last_poll_status=Subquery(runs.order_by("-started_at").values("status")[:1]),
    )


def sync_dashboard(catalogs: QuerySet[Catalog], *, now: datetime | None = None) -> Dashboard:
    """Everything the cross-tenant dashboard shows for ``catalogs`` (already scoped to the user)."""
    now = now or timezone.now()
    listed = list(annotated_catalogs(catalogs).order_by("tenant__slug", "name", "pk")[: DASHBOARD_LIMIT + 1])
    truncated = len(listed) > DASHBOARD_LIMIT
    listed = listed[:DASHBOARD_LIMIT]
    ids = [c.pk for c in listed]
    # The health page's numbers (health_counts(): excluded variants are "not sent", not pending).
    counts = states.counts_by_catalog(ids)
    calls = dict(
        SyncBatch.objects.filter(
            catalog_id__in=ids, kind=SyncBatch.Kind.ITEMS_BATCH, created_at__gte=now - timedelta(hours=1)
        )
        .order_by()
        .values_list("catalog_id")
        .annotate(n=Count("pk"))
    )
    issues: dict[int, dict[str, str]] = {}
    for catalog_id, code, title, meta_title in (
        CatalogIssue.objects.open()
        .filter(catalog_id__in=ids)
        .order_by()
        .values_list("catalog_id", "error_type__code", "error_type__title", "error_type__meta_title")
        .distinct()
    ):
        issues.setdefault(catalog_id, {})[code] = title or meta_title or code
    in_flight = list(
        SyncBatch.objects.in_flight()
        .filter(catalog_id__in=ids)
        .select_related("catalog", "tenant")
        .order_by("created_at")[:100]
    )
    throttle_keys = {c.pk: f"catalog:{c.meta_catalog_id or c.pk}" for c in listed}
    usage = GraphThrottle.objects.in_bulk(
        [f"{key}:{bucket}" for key in throttle_keys.values() for bucket in ("batch", "management")],
        field_name="key",
    )
    flying: dict[int, int] = {}
    for batch in in_flight:
        flying[batch.catalog_id] = flying.get(batch.catalog_id, 0) + 1
    rows = [
        CatalogRow(
            catalog=c,
            counts=StatusCounts.from_health_counts(counts[c.pk]) if c.pk in counts else StatusCounts(),
            batch_calls_last_hour=calls.get(c.pk, 0),
            in_flight=flying.get(c.pk, 0),
            open_issues=issues.get(c.pk, {}),
            batch_usage=usage.get(f"{throttle_keys[c.pk]}:batch"),
            management_usage=usage.get(f"{throttle_keys[c.pk]}:management"),
            now=now,
        )
        for c in listed
    ]
    return Dashboard(rows, in_flight, throughput(ids, now), truncated)


def throughput(catalog_ids: list[int], now: datetime, hours: int = THROUGHPUT_HOURS) -> list[dict]:
    """Items in finished batches per hour over the last ``hours`` (one grouped query)."""
    if not catalog_ids:
        return []
    return list(
        SyncBatch.objects.filter(
            catalog_id__in=catalog_ids, state=SyncBatch.State.FINISHED, finished_at__gte=now - timedelta(hours=hours)
        )
        .annotate(hour=TruncHour("finished_at"))
        .order_by("hour")
        .values("hour")
        .annotate(items=Sum("item_count"), batches=Count("pk"), errors=Sum("error_count"))
    )
