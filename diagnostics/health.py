"""The catalog health summary: counts, problems, connection state, freshness and trends.

One source of numbers: the cards are ``health_counts()`` (through ``states``), the
problems and their priorities are ``problems``' distinct-variant counts, and the trend's
last point is those same numbers now, after the snapshots (``snapshots``: hourly and after
each sync) that make the rest of the line. The cards read the counts the database keeps
as states change (``VariantStateCount``); the other numbers come from a grouped COUNT
over an indexed column or from snapshots, in a fixed number of queries whatever the
catalog size (pinned in tests).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django_q.models import Schedule

from catalog.models import Catalog, MetaConnection, ShopifyStore, Tenant, Variant, VariantStateCount
from catalog.sync import freshness as sync_freshness
from catalog.sync.freshness import Freshness as PushFreshness

from . import error_catalog as ec
from . import problem_memo, problems, states
from .integration import INTEGRATION_TYPES, TOKEN_TYPES
from .models import PRIORITY_RANK, CatalogIssue, DiagnosticsRun, HealthSnapshot, Priority
from .problems import TopError
from .schedules import HARVEST_SCHEDULE, POLL_SCHEDULE, poll_interval_minutes

__all__ = ["TopError", "StatusCounts", "HealthSummary", "summarise"]

TOP_ERRORS = 10
TREND_DAYS = 14


REASON_SAMPLE = 200  # not-visible variants read to say why (the card says when it is a sample)
REASONS_SHOWN = 4
TREND_POINTS = 160  # at most this many points per chart (one per pixel or three is plenty)
# The trend's series: the snapshot columns, summed over the catalogs shown.
TREND_FIELDS = (
    "live",
    "not_visible",
    "rejected",
    "in_review",
    "pending",
    "synced",
    "failed",
    "excluded",
    "open_high",
    "open_medium",
    "open_low",
)


@dataclass(frozen=True)
class StatusCounts(states.StateCounts):
    """Variants per state (``health_counts()``), with the shares the cards show."""

    def pct(self, state: str) -> float:
        return self.percent(self.of(state))

    @property
    def synced_pct(self) -> float:
        return self.percent(self.synced)

    @property
    def pending_pct(self) -> float:
        return self.percent(self.pending)

    @property
    def failed_pct(self) -> float:
        return self.percent(self.failed)


@dataclass
class Unconnected:
    """Stores of the tenant that feed no Meta catalog, and how many variants that leaves unsent."""

    stores: list[ShopifyStore]
    variants: int


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
    folded_issue_ids: set[int] | frozenset[int] = frozenset()
    unconnected: Unconnected | None = None
    # Why the synced-but-not-visible variants are not shown: (reason, variants), and whether sampled.
    not_visible_why: list[tuple[str, int]] = field(default_factory=list)
    not_visible_sampled: bool = False
    # Per catalog shown: change -> sent / confirmed p95 over the last hour and the Batch API
    # calls spent this hour (catalog.sync.freshness: one query over per-call timings).
    push_freshness: list[tuple[Catalog, PushFreshness]] = field(default_factory=list)

    @property
    def blocking_issues(self) -> list[CatalogIssue]:
        return [i for i in self.catalog_issues if i.error_type.code in INTEGRATION_TYPES]

    @property
    def catalog_wide_findings(self) -> list[CatalogIssue]:
        """Catalog issues neither blocking nor already a problem row (where Meta's count is shown)."""
        return [
            i
            for i in self.catalog_issues
            if i.error_type.code not in INTEGRATION_TYPES and i.pk not in self.folded_issue_ids
        ]

    @property
    def all_clear(self) -> bool:
        """Green only when every variant to be live is live, nothing urgent is open and the data is fresh."""
        c = self.counts
        return (
            not self.freshness.stale
            and c.live > 0
            and c.live == c.total - c.excluded
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
    """Variants per state over the catalogs: ``health_counts()``, from the maintained counts."""
    if not catalog_ids:
        return StatusCounts()
    counts = VariantStateCount.objects.health_counts(catalog_ids)
    return StatusCounts.from_health_counts(counts)


def not_visible_reasons(catalog_ids: list[int], counts: StatusCounts) -> tuple[list[tuple[str, int]], bool]:
    """Why synced variants are not shown, with how many for each; and whether that is from a sample.

    One bounded query, only when there are such variants: at most ``REASON_SAMPLE``
    rows of the ``variant_catalog_verdict`` index's not-visible part.
    """
    if not catalog_ids or not counts.not_visible:
        return [], False
    rows = list(
        Variant.objects.filter(states.q(states.NOT_VISIBLE), catalog_id__in=catalog_ids)
        # retailer_id: Variant.from_db reads it (deferred, it would cost a query per row).
        .only(
            "retailer_id",
            "review_status",
            "review_rejection_reasons",
            "visibility",
            "image_fetch_status",
            "channel_review",
        )[:REASON_SAMPLE]
    )
    reasons: Counter[str] = Counter()
    for variant in rows:
        reasons.update(states.not_visible_reasons(variant) or [gettext("Meta gives no reason")])
    return reasons.most_common(REASONS_SHOWN), counts.not_visible > len(rows)


def unconnected(tenant: Tenant) -> Unconnected | None:
    """The tenant's stores without a Meta catalog and the variants left unsent (None if every store has one).

    One query for the stores; the variant count only when there is such a store (the
    ``catalog`` index answers ``catalog_id IS NULL``).
    """
    stores = list(
        ShopifyStore.objects.for_tenant(tenant)
        .filter(catalog__isnull=True)
        .only("pk", "tenant_id", "name", "shop_domain")
        .order_by("shop_domain")
    )
    if not stores:
        return None
    return Unconnected(stores, Variant.objects.for_tenant(tenant).filter(catalog__isnull=True).count())


def connection_state(
    tenant: Tenant, catalogs: list[Catalog], catalog_issues: list[CatalogIssue], now: datetime
) -> ConnectionState:
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
        "paused_reason": "; ".join(pause_reason(c, translated=True) for c in paused),
        "paused_until": min((c.paused_until for c in paused if c.paused_until), default=None),
        "sync_enabled": bool(catalogs) and not paused,
    }
    if connection is None or not connection.token_last4 and not connection.access_token:
        return ConnectionState("not_connected", gettext("Not connected to Meta"), "bad", **base)
    status = connection.token_status
    hint = connection.token_hint
    days_left = None
    if connection.token_expires_at:
        days_left = max((connection.token_expires_at - now).days, 0)
    common = {"token_hint": hint, "days_left": days_left, "checked_at": connection.token_checked_at, **base}
    if status == MetaConnection.TokenStatus.REVOKED or ec.TOKEN_REVOKED in open_codes:
        return ConnectionState("revoked", gettext("Token revoked: nothing reaches Meta"), "bad", **common)
    if (
        status == MetaConnection.TokenStatus.EXPIRED
        or ec.TOKEN_EXPIRED in open_codes
        or (connection.token_expires_at and connection.token_expires_at <= now)
    ):
        return ConnectionState("expired", gettext("Token expired: nothing reaches Meta"), "bad", **common)
    if ec.TOKEN_INVALID in open_codes:
        return ConnectionState("invalid", gettext("Token not accepted by Meta"), "bad", **common)
    if status == MetaConnection.TokenStatus.MISSING_PERMISSION or ec.PERMISSION_DENIED in open_codes:
        return ConnectionState("missing_permission", gettext("Token lacks catalog permission"), "bad", **common)
    warning = timedelta(days=getattr(settings, "META_TOKEN_WARNING_DAYS", 7))
    if connection.token_expires_at and connection.token_expires_at - now <= warning:
        return ConnectionState("expiring", _expires_label(days_left), "warn", **common)
    if status == MetaConnection.TokenStatus.EXPIRING:
        label = _expires_label(days_left) if days_left is not None else gettext("Token expires soon")
        return ConnectionState("expiring", label, "warn", **common)
    if status == MetaConnection.TokenStatus.UNKNOWN:
        return ConnectionState("unknown", gettext("Token not checked yet"), "warn", **common)
    level = "warn" if paused else "ok"
    return ConnectionState("valid", gettext("Token valid"), level, **common)


def _expires_label(days: int | None) -> str:
    if not days:
        return gettext("Token expires today")
    return ngettext("Token expires in %(days)s day", "Token expires in %(days)s days", days) % {"days": days}


def pause_reason(catalog: Catalog, *, translated: bool = False) -> str:
    """Why the catalog does not sync right now ("" when it does).

    ``translated``: the merchant's wording (:attr:`Catalog.display_paused_reason`, a sentence in
    the active language before the stored detail); the staff dashboard shows the stored text.
    """
    if catalog.is_paused:
        if translated:
            return catalog.display_paused_reason
        return catalog.paused_reason or catalog.get_pause_kind_display()
    if not catalog.sync_enabled:
        return gettext("Sync is switched off for this catalog.")
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
    """Snapshot totals over the last ``days`` (one query), each catalog's latest snapshot carried forward.

    Catalogs are snapshotted together every hour but each on its own after a sync, so a
    point sums every catalog's latest snapshot at that time, never one catalog alone.
    Thinned to ``TREND_POINTS`` (the last point of each slot is kept).
    """
    if not catalog_ids:
        return []
    rows = (
        HealthSnapshot.objects.filter(catalog_id__in=catalog_ids, taken_at__gte=now - timedelta(days=days))
        .order_by("taken_at", "pk")
        .values_list("catalog_id", "taken_at", *TREND_FIELDS)
    )
    latest: dict[int, tuple] = {}
    points: list[dict] = []
    for catalog_id, taken_at, *values in rows:
        latest[catalog_id] = tuple(values)
        point = _trend_point(taken_at, [sum(column) for column in zip(*latest.values(), strict=True)])
        if points and points[-1]["taken_at"] == taken_at:
            points[-1] = point
        else:
            points.append(point)
    return _thin(points, TREND_POINTS)


def _trend_point(taken_at: datetime, values: list[int]) -> dict:
    point = {"taken_at": taken_at, **dict(zip(TREND_FIELDS, values, strict=True))}
    point.update(high=point["open_high"], medium=point["open_medium"], low=point["open_low"])
    return point


def now_point(counts: StatusCounts, totals: dict[str, int], now: datetime) -> dict:
    """The trend's last point: the cards' own numbers, so the chart ends where the page stands."""
    return _trend_point(
        now,
        [
            counts.live,
            counts.not_visible,
            counts.rejected,
            counts.in_review,
            counts.pending,
            counts.synced,
            counts.failed,
            counts.excluded,
            totals[Priority.HIGH],
            totals[Priority.MEDIUM],
            totals[Priority.LOW],
        ],
    )


def _thin(points: list[dict], limit: int) -> list[dict]:
    if len(points) <= limit:
        return points
    t0, t1 = points[0]["taken_at"].timestamp(), points[-1]["taken_at"].timestamp()
    slot = (t1 - t0) / limit or 1.0
    kept: dict[int, dict] = {}
    for point in points:
        kept[int((point["taken_at"].timestamp() - t0) / slot)] = point
    return list(kept.values())


def summarise(
    tenant: Tenant, *, catalog: Catalog | None = None, priority: str = "", source: str = "", now: datetime | None = None
) -> HealthSummary:
    """Everything the health page shows for a tenant (or one of its catalogs), in a fixed number of queries.

    ``priority`` / ``source`` narrow the problem rows only; the cards, the priority totals
    and the chart are always the whole catalog's.
    """
    now = now or timezone.now()
    catalogs = catalogs_for(tenant)
    selected = [c for c in catalogs if catalog is None or c.pk == catalog.pk]
    ids = [c.pk for c in selected]
    catalog_issues = (
        list(
            CatalogIssue.objects.open()
            .filter(catalog_id__in=ids)
            .select_related("error_type", "catalog", "catalog__store")
            .order_by("priority", "-last_seen")
        )
        if ids
        else []
    )
    catalog_issues.sort(key=lambda i: (PRIORITY_RANK.get(i.priority, 9), -i.last_seen.timestamp()))
    # The problem counts are memoised on the issues' version: one query for the version, one for both memos.
    keys = [problems.totals_key(tenant, ids), problems.groups_key(tenant, ids, priority, source)]
    memo = problem_memo.Memo(ids, keys)
    rows, folded = problems.problem_rows(tenant, ids, catalog_issues, priority=priority, source=source, memo=memo)
    totals = problems.counted_priority_totals(tenant, ids, memo=memo) if ids else dict.fromkeys(Priority.values, 0)
    counts = status_counts(ids)
    history = trend(ids, now)
    why, sampled = not_visible_reasons(ids, counts)
    return HealthSummary(
        tenant=tenant,
        catalogs=catalogs,
        catalog=catalog,
        counts=counts,
        top_errors=rows,
        priority_totals=totals,
        catalog_issues=catalog_issues,
        connection=connection_state(tenant, selected, catalog_issues, now),
        freshness=freshness(selected, now),
        trend=[*history, now_point(counts, totals, now)] if ids else [],
        folded_issue_ids=folded,
        unconnected=unconnected(tenant) if catalog is None else None,
        not_visible_why=why,
        not_visible_sampled=sampled,
        push_freshness=push_freshness(selected, now),
    )


def push_freshness(catalogs: list[Catalog], now: datetime) -> list[tuple[Catalog, PushFreshness]]:
    """How fast changes reached Meta in the last hour, per writable catalog (one query)."""
    shown = [c for c in catalogs if not c.is_read_only]
    by_id = sync_freshness.for_catalogs([c.pk for c in shown], now=now)
    return [(c, by_id[c.pk]) for c in shown]


def token_blocks_sync(summary: HealthSummary) -> bool:
    """True when a token problem stops every push (the banner on top of the page)."""
    return summary.connection.status in ("revoked", "expired", "invalid", "missing_permission", "not_connected") or any(
        i.error_type.code in TOKEN_TYPES for i in summary.catalog_issues
    )
