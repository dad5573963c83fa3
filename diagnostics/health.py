"""The catalog health summary: counts, top errors, connection state, freshness and trends.

Every number comes from a grouped COUNT over an indexed column or from snapshots, in
a fixed number of queries whatever the catalog size (pinned in tests).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django_q.models import Schedule

from catalog.models import Catalog, MetaConnection, Tenant, Variant

from . import error_catalog as ec
from .integration import INTEGRATION_TYPES, TOKEN_TYPES
from .models import PRIORITY_RANK, CatalogIssue, DiagnosticsRun, ErrorType, HealthSnapshot, ItemIssue, Priority
from .schedules import HARVEST_SCHEDULE, POLL_SCHEDULE, poll_interval_minutes

TOP_ERRORS = 10
TREND_DAYS = 14


@dataclass(frozen=True)
class StatusCounts:
    pending: int = 0
    synced: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.synced + self.failed

    def percent(self, value: int) -> float:
        return round(100.0 * value / self.total, 1) if self.total else 0.0

    @property
    def pending_pct(self) -> float:
        return self.percent(self.pending)

    @property
    def synced_pct(self) -> float:
        return self.percent(self.synced)

    @property
    def failed_pct(self) -> float:
        return self.percent(self.failed)


@dataclass
class TopError:
    error_type: ErrorType
    count: int = 0
    by_priority: dict[str, int] = field(default_factory=dict)

    @property
    def priority(self) -> str:
        return min(self.by_priority, key=lambda p: PRIORITY_RANK.get(p, 9), default=self.error_type.priority)


@dataclass
class ConnectionState:
    """What a merchant needs to know about the link to Meta, in one place."""

    status: str  # valid / expiring / expired / revoked / missing_permission / unknown / not_connected
    label: str
    level: str  # ok / warn / bad
    token_hint: str = ""
    days_left: int | None = None
    checked_at: datetime | None = None
    last_sync_at: datetime | None = None
    next_sync_at: datetime | None = None
    next_check_at: datetime | None = None
    paused_reason: str = ""
    paused_until: datetime | None = None
    sync_enabled: bool = True


@dataclass
class Freshness:
    """When Meta's diagnostics were last read, and whether that is too long ago to trust."""

    last_checked_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str
    stale: bool


@dataclass
class HealthSummary:
    tenant: Tenant
    catalogs: list[Catalog]
    catalog: Catalog | None
    counts: StatusCounts
    top_errors: list[TopError]
    priority_totals: dict[str, int]
    catalog_issues: list[CatalogIssue]
    connection: ConnectionState
    freshness: Freshness
    trend: list[dict]

    @property
    def blocking_issues(self) -> list[CatalogIssue]:
        return [i for i in self.catalog_issues if i.error_type.code in INTEGRATION_TYPES]

    @property
    def all_clear(self) -> bool:
        """Green only when everything is synced, nothing is open and the data is fresh."""
        return (
            not self.freshness.stale
            and self.counts.failed == 0
            and not self.catalog_issues
            and self.priority_totals.get(Priority.HIGH, 0) == 0
            and self.connection.level == "ok"
        )


def catalogs_for(tenant: Tenant) -> list[Catalog]:
    """The tenant's catalogs with their latest poll times (one query)."""
    runs = DiagnosticsRun.objects.filter(catalog=OuterRef("pk"), kind=DiagnosticsRun.Kind.POLL)
    ok_runs = runs.filter(status=DiagnosticsRun.Status.OK)
    return list(
        Catalog.objects.for_tenant(tenant)
        .select_related("store")
        .annotate(
            last_poll_at=Subquery(runs.order_by("-started_at").values("started_at")[:1]),
            last_poll_status=Subquery(runs.order_by("-started_at").values("status")[:1]),
            last_poll_error=Subquery(runs.order_by("-started_at").values("error_message")[:1]),
            last_ok_poll_at=Subquery(ok_runs.order_by("-started_at").values("finished_at")[:1]),
        )
        .order_by("name", "pk")
    )


def status_counts(catalog_ids: list[int]) -> StatusCounts:
    """PENDING / SYNCED / FAILED over the catalogs (one grouped COUNT on the (catalog, status) index)."""
    if not catalog_ids:
        return StatusCounts()
    counts = Variant.objects.filter(catalog_id__in=catalog_ids).status_counts()
    return StatusCounts(
        pending=counts[Variant.SyncStatus.PENDING],
        synced=counts[Variant.SyncStatus.SYNCED],
        failed=counts[Variant.SyncStatus.FAILED],
    )


def open_issue_groups(tenant: Tenant, catalog_ids: list[int], *, priority: str = "",
                      source: str = "") -> tuple[list[TopError], dict[str, int]]:
    """Open item issues grouped by type (all of them, most urgent first) and totals by priority.

    Two queries: a grouped COUNT on the partial open-issue index, then the types.
    """
    qs = ItemIssue.objects.open().for_tenant(tenant).filter(catalog_id__in=catalog_ids)
    if priority:
        qs = qs.filter(priority=priority)
    if source:
        qs = qs.filter(source=source)
    rows = list(qs.order_by().values_list("error_type_id", "priority").annotate(n=Count("pk")))
    types = ErrorType.objects.in_bulk({type_id for type_id, _, _ in rows})
    groups: dict[int, TopError] = {}
    totals: dict[str, int] = defaultdict(int)
    for type_id, prio, n in rows:
        group = groups.setdefault(type_id, TopError(types[type_id]))
        group.count += n
        group.by_priority[prio] = group.by_priority.get(prio, 0) + n
        totals[prio] += n
    ordered = sorted(groups.values(), key=lambda g: (PRIORITY_RANK.get(g.priority, 9), -g.count, g.error_type.code))
    return ordered, {p: totals.get(p, 0) for p in Priority.values}


def connection_state(tenant: Tenant, catalogs: list[Catalog], catalog_issues: list[CatalogIssue],
                     now: datetime) -> ConnectionState:
    """Token health, last sync, next runs and pause reason (two queries: connection, schedules)."""
    connection = MetaConnection.objects.for_tenant(tenant).first()
    open_codes = {issue.error_type.code for issue in catalog_issues}
    last_sync = max((c.last_sync_at for c in catalogs if c.last_sync_at), default=None)
    paused = [c for c in catalogs if pause_reason(c)]
    next_check, next_sync = _next_runs() if catalogs else (None, None)
    base = {
        "last_sync_at": last_sync,
        "next_check_at": next_check,
        "next_sync_at": next_sync,
        "paused_reason": "; ".join(pause_reason(c) for c in paused),
        "paused_until": min((c.paused_until for c in paused if c.paused_until), default=None),
        "sync_enabled": bool(catalogs) and not paused,
    }
    if connection is None or not connection.token_last4 and not connection.access_token:
        return ConnectionState("not_connected", "Not connected to Meta", "bad", **base)
    status = connection.token_status
    hint = connection.token_hint
    days_left = None
    if connection.token_expires_at:
        days_left = max((connection.token_expires_at - now).days, 0)
    common = {"token_hint": hint, "days_left": days_left, "checked_at": connection.token_checked_at, **base}
    if status == MetaConnection.TokenStatus.REVOKED or ec.TOKEN_REVOKED in open_codes:
        return ConnectionState("revoked", "Token revoked: nothing reaches Meta", "bad", **common)
    if status == MetaConnection.TokenStatus.EXPIRED or ec.TOKEN_EXPIRED in open_codes or (
        connection.token_expires_at and connection.token_expires_at <= now
    ):
        return ConnectionState("expired", "Token expired: nothing reaches Meta", "bad", **common)
    if ec.TOKEN_INVALID in open_codes:
        return ConnectionState("invalid", "Token not accepted by Meta", "bad", **common)
    if status == MetaConnection.TokenStatus.MISSING_PERMISSION or ec.PERMISSION_DENIED in open_codes:
        return ConnectionState("missing_permission", "Token lacks catalog permission", "bad", **common)
    warning = timedelta(days=getattr(settings, "META_TOKEN_WARNING_DAYS", 7))
    if connection.token_expires_at and connection.token_expires_at - now <= warning:
        return ConnectionState("expiring", _expires_label(days_left), "warn", **common)
    if status == MetaConnection.TokenStatus.EXPIRING:
        label = _expires_label(days_left) if days_left is not None else "Token expires soon"
        return ConnectionState("expiring", label, "warn", **common)
    if status == MetaConnection.TokenStatus.UNKNOWN:
        return ConnectionState("unknown", "Token not checked yet", "warn", **common)
    level = "warn" if paused else "ok"
    return ConnectionState("valid", "Token valid", level, **common)


def _expires_label(days: int | None) -> str:
    if not days:
        return "Token expires today"
    return f"Token expires in {days} day{'s' if days != 1 else ''}"


def pause_reason(catalog: Catalog) -> str:
    """Why the catalog does not sync right now ("" when it does)."""
    if catalog.is_paused:
        return catalog.paused_reason or catalog.get_pause_kind_display()
    if not catalog.sync_enabled:
        return "Sync is switched off for this catalog."
    return ""


def _next_runs() -> tuple[datetime | None, datetime | None]:
    """Next diagnostics check and next sync-engine run (its schedules call catalog.tasks), one query."""
    rows = Schedule.objects.filter(
        Q(name__in=[POLL_SCHEDULE, HARVEST_SCHEDULE]) | Q(func__startswith="catalog.tasks."), next_run__isnull=False
    ).values_list("func", "next_run")
    checks = [when for func, when in rows if func.startswith("diagnostics.")]
    syncs = [when for func, when in rows if func.startswith("catalog.tasks.")]
    return min(checks, default=None), min(syncs, default=None)


def freshness(catalogs: list[Catalog], now: datetime) -> Freshness:
    """Diagnostics are stale when the last good poll is older than two poll intervals (or never ran)."""
    if not catalogs:
        return Freshness(None, None, "", stale=False)
    ok_times = [c.last_ok_poll_at for c in catalogs]
    attempts = [c.last_poll_at for c in catalogs if c.last_poll_at]
    # The oldest catalog decides: one catalog that cannot be read is enough to distrust the page.
    last_ok = None if any(t is None for t in ok_times) else min(ok_times)
    errors = [c.last_poll_error for c in catalogs if c.last_poll_status in ("failed", "partial") and c.last_poll_error]
    limit = timedelta(minutes=2 * poll_interval_minutes())
    stale = last_ok is None or now - last_ok > limit or bool(errors)
    return Freshness(last_ok, max(attempts, default=None), errors[0] if errors else "", stale)


def trend(catalog_ids: list[int], now: datetime, days: int = TREND_DAYS) -> list[dict]:
    """Snapshot totals per snapshot time over the last ``days`` (one grouped query)."""
    if not catalog_ids:
        return []
    return list(
        HealthSnapshot.objects.filter(catalog_id__in=catalog_ids, taken_at__gte=now - timedelta(days=days))
        .order_by("taken_at").values("taken_at")
        .annotate(pending=Sum("pending"), synced=Sum("synced"), failed=Sum("failed"), high=Sum("open_high"),
                  medium=Sum("open_medium"), low=Sum("open_low"))
    )


def summarise(tenant: Tenant, *, catalog: Catalog | None = None, priority: str = "", source: str = "",
              now: datetime | None = None) -> HealthSummary:
    """Everything the health page shows for a tenant (or one of its catalogs), in a fixed number of queries."""
    now = now or timezone.now()
    catalogs = catalogs_for(tenant)
    selected = [c for c in catalogs if catalog is None or c.pk == catalog.pk]
    ids = [c.pk for c in selected]
    top, totals = open_issue_groups(tenant, ids, priority=priority, source=source)
    catalog_issues = list(
        CatalogIssue.objects.open().filter(catalog_id__in=ids).select_related("error_type", "catalog", "catalog__store")
        .order_by("priority", "-last_seen")
    ) if ids else []
    catalog_issues.sort(key=lambda i: (PRIORITY_RANK.get(i.priority, 9), -i.last_seen.timestamp()))
    return HealthSummary(
        tenant=tenant,
        catalogs=catalogs,
        catalog=catalog,
        counts=status_counts(ids),
        top_errors=top,
        priority_totals=totals,
        catalog_issues=catalog_issues,
        connection=connection_state(tenant, selected, catalog_issues, now),
        freshness=freshness(selected, now),
        trend=trend(ids, now),
    )


def token_blocks_sync(summary: HealthSummary) -> bool:
    """True when a token problem stops every push (the banner on top of the page)."""
    return summary.connection.status in ("revoked", "expired", "invalid", "missing_permission", "not_connected") or any(
        i.error_type.code in TOKEN_TYPES for i in summary.catalog_issues
    )

