"""The conditions a tenant should hear about now, found cheaply (a handful of queries per tenant).

Token, pause and Conversions API conditions read a few rows of their own tables; the failure
share comes from the maintained ``VariantStateCount`` rows (never a COUNT over variants).
Items rejected after having been live are read exactly from the per-item timeline: the
"rejected in review" events of the last day that follow a "live" event of the same variant
(a partial index holds only the rejected events).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from catalog.models import Catalog, DriftFinding, MetaConnection, Tenant, Variant, VariantEvent, VariantStateCount
from conversions.models import ConversionEvent
from diagnostics import states
from diagnostics.fixes import settings_url

from .models import Alert, Kind

TokenStatus = MetaConnection.TokenStatus
PauseKind = Catalog.PauseKind
# Rejected items named in an alert (the rest are one click away on the fix page).
REJECTED_SAMPLE = 5
# A failure share is re-sent when it moves into another band of this many percentage points.
FAILURE_BAND_PCT = 10


@dataclass
class Condition:
    kind: str
    key: str
    title: str
    message: str = ""
    fix_url: str = ""
    fix_label: str = ""
    fingerprint: str = ""
    catalog_id: int | None = None
    # False: nothing to tell, but the counts must be remembered (rejected items' baseline).
    open: bool = True
    seen_count: int = 0
    base_count: int = 0


def absolute(path: str) -> str:
    """``path`` on this instance (settings.SITE_URL), for links in e-mails."""
    return f"{settings.SITE_URL}{path}"


def find(tenant: Tenant, previous: dict[str, Alert], *, now: datetime | None = None) -> list[Condition]:
    """Every condition of the tenant now; ``previous``: its alert rows by key (for counted conditions)."""
    now = now or timezone.now()
    catalogs = list(
        Catalog.objects.for_tenant(tenant).only("pk", "name", "pause_kind", "paused_reason", "paused_until")
    )
    found = [*token_conditions(tenant, now), *paused_conditions(tenant, catalogs)]
    counts = VariantStateCount.objects.by_catalog([c.pk for c in catalogs])
    for catalog in catalogs:
        c = counts.get(catalog.pk)
        if c is None:
            continue
        spike = failure_spike(tenant, catalog, c)
        if spike:
            found.append(spike)
        found.append(rejected_items(tenant, catalog, now))
    conversions = conversions_failing(tenant, now)
    if conversions:
        found.append(conversions)
    found += drift_found(tenant, catalogs)
    return found


def token_conditions(tenant: Tenant, now: datetime) -> list[Condition]:
    """A token that is expired, revoked or missing a permission, or expires within the warning days."""
    days = settings.ALERTS_TOKEN_DAYS
    fix = absolute(settings_url(tenant))
    out = []
    for conn in MetaConnection.objects.for_tenant(tenant).only(
        "pk", "token_status", "token_expires_at", "token_error", "business_id"
    ):
        key = f"token:{conn.pk}"
        if conn.token_status in MetaConnection.BLOCKING_STATUSES:
            label = TokenStatus(conn.token_status).label
            out.append(
                Condition(
                    Kind.TOKEN,
                    key,
                    f"Meta token: {label.lower()}",
                    "Nothing reaches Meta until a working token is saved; your changes are kept and sent then.",
                    fix,
                    "Open Settings → WhatsApp Connection",
                    fingerprint=conn.token_status,
                )
            )
        elif conn.token_expires_at and conn.token_expires_at <= now + timedelta(days=days):
            when = timezone.localtime(conn.token_expires_at)
            out.append(
                Condition(
                    Kind.TOKEN,
                    key,
                    f"Meta token expires on {when:%d %b %Y}",
                    f"The token expires within {days} days; after that nothing reaches Meta. "
                    "Paste a new one before then.",
                    fix,
                    "Renew it in Settings → WhatsApp Connection",
                    fingerprint=f"expiring:{when:%Y-%m-%d}",
                )
            )
    return out


def paused_conditions(tenant: Tenant, catalogs: list[Catalog]) -> list[Condition]:
    """A catalog whose sync is paused, by staff or by a cause (token, permission, rate limit, outage)."""
    out = []
    for catalog in catalogs:
        if not catalog.pause_kind:
            continue
        if catalog.pause_kind in (PauseKind.AUTH, PauseKind.PERMISSION):
            fix, label = absolute(settings_url(tenant)), "Open Settings → WhatsApp Connection"
        else:
            fix = absolute(reverse("admin:catalog_catalog_change", args=[catalog.pk]))
            label = "Open the catalog"
        until = (
            f" Retried automatically after {timezone.localtime(catalog.paused_until):%d %b %Y %H:%M}."
            if (catalog.paused_until)
            else ""
        )
        out.append(
            Condition(
                Kind.SYNC_PAUSED,
                f"sync_paused:{catalog.pk}",
                f"Sync of {catalog.name} is paused: {PauseKind(catalog.pause_kind).label.lower()}",
                f"{catalog.paused_reason or 'No reason recorded.'}{until} Pending changes are kept.",
                fix,
                label,
                fingerprint=catalog.pause_kind,
                catalog_id=catalog.pk,
            )
        )
    return out


def _items_url(tenant: Tenant, catalog: Catalog, state: str) -> str:
    return absolute(f"{reverse('health:items')}?tenant={tenant.slug}&catalog={catalog.pk}&state={state}")


def failure_spike(tenant: Tenant, catalog: Catalog, counts: dict) -> Condition | None:
    """FAILED share of the catalog's variants meant to be live above ALERTS_FAILURE_SHARE_PCT."""
    failed = counts["failed"]
    total = counts["pending"] + counts["synced"] + failed
    if not total or failed < settings.ALERTS_FAILURE_MIN_VARIANTS:
        return None
    pct = 100.0 * failed / total
    if pct <= settings.ALERTS_FAILURE_SHARE_PCT:
        return None
    return Condition(
        Kind.FAILURE_SPIKE,
        f"failure_spike:{catalog.pk}",
        f"{pct:.0f}% of {catalog.name}'s variants failed",
        f"{failed:,} of {total:,} variants to be sold are FAILED (alert above {settings.ALERTS_FAILURE_SHARE_PCT:g}%).",
        _items_url(tenant, catalog, states.FAILED),
        "See the failed variants and their fixes",
        fingerprint=f"band:{int(pct) // FAILURE_BAND_PCT}",
        catalog_id=catalog.pk,
        seen_count=failed,
    )


def rejected_key(catalog: Catalog) -> str:
    return f"rejected:{catalog.pk}"


def rejected_items(tenant: Tenant, catalog: Catalog, now: datetime) -> Condition:
    """Items Meta's review rejected after they had been live, read exactly from the per-item timeline.

    A "rejected in review" event within the last ALERTS_REPEAT_HOURS, on a variant whose
    timeline has a "live" event before it, and that is still rejected now. Items rejected at
    their first review never were live (the health page counts them); an item fixed since
    closes the alert. Each new rejection changes the fingerprint, so it is sent at once.
    """
    key = rejected_key(catalog)
    Event = VariantEvent.Kind
    since = now - timedelta(hours=settings.ALERTS_REPEAT_HOURS)
    live_before = VariantEvent.objects.filter(variant_id=OuterRef("variant_id"), kind=Event.LIVE, at__lt=OuterRef("at"))
    still_rejected = Variant.objects.filter(catalog_id=catalog.pk, verdict=Variant.Verdict.REJECTED).values("pk")
    events = (
        VariantEvent.objects.for_tenant(tenant)
        .filter(catalog_id=catalog.pk, kind=Event.REVIEW_REJECTED, at__gte=since, at__lte=now)
        .filter(Exists(live_before), variant_id__in=still_rejected)
    )
    latest = list(events.order_by("-at", "-id").values_list("variant_id", "id", "message")[: REJECTED_SAMPLE * 4])
    if not latest:
        return Condition(Kind.REJECTED, key, "", open=False, catalog_id=catalog.pk)
    n = events.values("variant_id").distinct().count()
    sample_ids = list(dict.fromkeys(vid for vid, _, _ in latest))[:REJECTED_SAMPLE]
    names = dict(Variant.objects.filter(pk__in=sample_ids).values_list("pk", "retailer_id"))
    reasons = {vid: msg for vid, _, msg in reversed(latest)}
    lines = [f"- {names.get(vid, vid)}: {reasons.get(vid) or 'no reason given'}" for vid in sample_ids]
    return Condition(
        Kind.REJECTED,
        key,
        f"{n:,} item{'s' if n != 1 else ''} of {catalog.name} rejected in Meta's review after being live",
        "\n".join(
            [
                f"Meta's review rejected {n:,} item(s) that customers could see until then; they are no "
                "longer shown. Each item's timeline says when and why. Latest:",
                *lines,
            ]
        ),
        _items_url(tenant, catalog, states.REJECTED),
        "See the rejected items and why",
        fingerprint=f"rejected_live:{n}:{latest[0][1]}",
        catalog_id=catalog.pk,
        seen_count=n,
    )


def conversions_failing(tenant: Tenant, now: datetime) -> Condition | None:
    """Conversions API events that died (gave up after their retries) in the last digest period."""
    since = now - timedelta(minutes=settings.ALERTS_DIGEST_MINUTES)
    dead = ConversionEvent.objects.for_tenant(tenant).filter(state=ConversionEvent.State.DEAD, updated_at__gte=since)
    n = dead.count()
    if not n:
        return None
    code = dead.order_by("-updated_at", "-pk").values_list("last_error_code", flat=True).first() or ""
    changelist = reverse("admin:conversions_conversionevent_changelist")
    return Condition(
        Kind.CONVERSIONS,
        "conversions",
        f"Conversions API: {n:,} purchase event{'s' if n != 1 else ''} could not be sent",
        f"Meta refused them or could not be reached after every retry{f' (last error {code})' if code else ''}.",
        absolute(f"{changelist}?tenant__id__exact={tenant.pk}&state__exact=dead"),
        "See the events and send them again",
        fingerprint="dead",
    )


def drift_found(tenant: Tenant, catalogs: list[Catalog]) -> list[Condition]:
    """Open findings of the drift scan (catalog.sync.drift), per catalog: one grouped query."""
    names = {c.pk: c.name for c in catalogs}
    rows = (
        DriftFinding.objects.for_tenant(tenant)
        .filter(state=DriftFinding.State.OPEN)
        .values_list("catalog_id", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_catalog: dict[int, dict[str, int]] = {}
    for catalog_id, kind, n in rows:
        by_catalog.setdefault(catalog_id, {})[kind] = n
    out = []
    changelist = reverse("admin:catalog_driftfinding_changelist")
    for catalog_id, counts in sorted(by_catalog.items()):
        parts = [
            f"{n:,} {label}"
            for kind, label in (
                (DriftFinding.Kind.GHOST, "ghost item(s): in Meta, not sent by Galantis"),
                (DriftFinding.Kind.DRIFT, "item(s) whose values were changed in Meta"),
                (DriftFinding.Kind.DUPLICATE_CATALOG, "other catalog(s) holding this store's items"),
            )
            if (n := counts.get(kind))
        ]
        out.append(
            Condition(
                Kind.DRIFT,
                f"drift:{catalog_id}",
                f"{names.get(catalog_id, 'A catalog')}: Meta differs from your store",
                "; ".join(parts) + ". Drifted items are sent again automatically; ghosts wait for your choice.",
                absolute(f"{changelist}?catalog__id__exact={catalog_id}&state__exact=open"),
                "See the drift report",
                # Re-sent when a kind appears or its count gains a digit, not on every new item (no storms).
                fingerprint=",".join(f"{k}:{len(str(counts[k]))}" for k in sorted(counts)),
                catalog_id=catalog_id,
            )
        )
    return out
