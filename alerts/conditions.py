"""The conditions a tenant should hear about now, found cheaply (a handful of queries per tenant).

Token, pause and Conversions API conditions read a few rows of their own tables; the failure
share comes from the maintained ``VariantStateCount`` rows (never a COUNT over variants).
Items rejected or no longer visible after having been live are read exactly from the per-item
timeline: the "rejected in review" or "not visible" events of the last day that follow a "live"
event of the same variant (a partial index holds only those events).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog import item_state
from catalog.models import Catalog, DriftFinding, MetaConnection, Tenant, Variant, VariantEvent, VariantStateCount
from conversions.models import ConversionEvent
from diagnostics import states
from diagnostics.fixes import settings_url

from .models import Alert, Kind
from .texts import Text, join, label, raw, t, when

TokenStatus = MetaConnection.TokenStatus
PauseKind = Catalog.PauseKind
# Rejected items named in an alert (the rest are one click away on the fix page).
REJECTED_SAMPLE = 5
# A failure share is re-sent when it moves into another band of this many percentage points.
FAILURE_BAND_PCT = 10


@dataclass
class Condition:
    """One condition; ``title``, ``message`` and ``fix_label`` are texts (``alerts.texts``), rendered when read."""

    kind: str
    key: str
    title: Text | str
    message: Text | str = ""
    fix_url: str = ""
    fix_label: Text | str = ""
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
        found.append(not_visible_items(tenant, catalog, now))
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
            out.append(
                Condition(
                    Kind.TOKEN,
                    key,
                    t(
                        gettext_noop("Meta token: %(status)s"),
                        status=label(TokenStatus(conn.token_status).label, lower=True),
                    ),
                    t(
                        gettext_noop(
                            "Nothing reaches Meta until a working token is saved; your changes are kept and sent then."
                        )
                    ),
                    fix,
                    t(gettext_noop("Open Settings → WhatsApp Connection")),
                    fingerprint=conn.token_status,
                )
            )
        elif conn.token_expires_at and conn.token_expires_at <= now + timedelta(days=days):
            day = timezone.localtime(conn.token_expires_at).date()
            within = (
                gettext_noop(
                    "The token expires within 1 day; after that nothing reaches Meta. Paste a new one before then."
                )
                if days == 1
                else gettext_noop(
                    "The token expires within %(days)s days; after that nothing reaches Meta. "
                    "Paste a new one before then."
                )
            )
            out.append(
                Condition(
                    Kind.TOKEN,
                    key,
                    t(gettext_noop("Meta token expires on %(day)s"), day=when(day, "d M Y")),
                    t(within, days=days),
                    fix,
                    t(gettext_noop("Renew it in Settings → WhatsApp Connection")),
                    fingerprint=f"expiring:{day:%Y-%m-%d}",
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
            fix = absolute(settings_url(tenant))
            fix_label = t(gettext_noop("Open Settings → WhatsApp Connection"))
        else:
            fix = absolute(reverse("admin:catalog_catalog_change", args=[catalog.pk]))
            fix_label = t(gettext_noop("Open the catalog"))
        # The stored reason is shown as written (it often quotes Meta); our sentences around it are translated.
        message = [raw(catalog.paused_reason) if catalog.paused_reason else t(gettext_noop("No reason recorded."))]
        if catalog.paused_until:
            retry = when(timezone.localtime(catalog.paused_until).replace(tzinfo=None), "d M Y H:i")
            message.append(t(gettext_noop("Retried automatically after %(when)s."), when=retry))
        message.append(t(gettext_noop("Pending changes are kept.")))
        out.append(
            Condition(
                Kind.SYNC_PAUSED,
                f"sync_paused:{catalog.pk}",
                t(
                    gettext_noop("Sync of %(catalog)s is paused: %(why)s"),
                    catalog=catalog.name,
                    why=label(PauseKind(catalog.pause_kind).label, lower=True),
                ),
                join(message),
                fix,
                fix_label,
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
        t(gettext_noop("%(pct)s%% of %(catalog)s's variants failed"), pct=f"{pct:.0f}", catalog=catalog.name),
        t(
            gettext_noop("%(failed)s of %(total)s variants to be sold are FAILED (alert above %(limit)s%%)."),
            failed=failed,
            total=total,
            limit=f"{settings.ALERTS_FAILURE_SHARE_PCT:g}",
        ),
        _items_url(tenant, catalog, states.FAILED),
        t(gettext_noop("See the failed variants and their fixes")),
        fingerprint=f"band:{int(pct) // FAILURE_BAND_PCT}",
        catalog_id=catalog.pk,
        seen_count=failed,
    )


def rejected_key(catalog: Catalog) -> str:
    return f"rejected:{catalog.pk}"


def not_visible_key(catalog: Catalog) -> str:
    return f"not_visible:{catalog.pk}"


@dataclass
class _AfterLive:
    """Items whose verdict became ``verdict`` (timeline event ``event``) after they had been live, still so."""

    n: int  # distinct variants
    sample: list[tuple[str, str, dict]]  # the latest few: (retailer id, event message, event detail)
    latest_event_id: int


def _after_live(tenant: Tenant, catalog: Catalog, now: datetime, event: str, verdict: str) -> _AfterLive | None:
    """An ``event`` within the last ALERTS_REPEAT_HOURS, after a "live" event of the same variant, still ``verdict``.

    Three short reads: the latest events (the partial index ``variantevent_after_live``), their
    distinct variants, the sample's retailer ids.
    """
    since = now - timedelta(hours=settings.ALERTS_REPEAT_HOURS)
    live_before = VariantEvent.objects.filter(
        variant_id=OuterRef("variant_id"), kind=VariantEvent.Kind.LIVE, at__lt=OuterRef("at")
    )
    still = Variant.objects.filter(catalog_id=catalog.pk, verdict=verdict).values("pk")
    events = (
        VariantEvent.objects.for_tenant(tenant)
        .filter(catalog_id=catalog.pk, kind=event, at__gte=since, at__lte=now)
        .filter(Exists(live_before), variant_id__in=still)
    )
    latest = list(
        events.order_by("-at", "-id").values_list("variant_id", "id", "message", "detail")[: REJECTED_SAMPLE * 4]
    )
    if not latest:
        return None
    n = events.values("variant_id").distinct().count()
    sample_ids = list(dict.fromkeys(vid for vid, _, _, _ in latest))[:REJECTED_SAMPLE]
    names = dict(Variant.objects.filter(pk__in=sample_ids).values_list("pk", "retailer_id"))
    newest = {vid: (message, detail or {}) for vid, _, message, detail in reversed(latest)}
    sample = [(str(names.get(vid, vid)), *newest[vid]) for vid in sample_ids]
    return _AfterLive(n, sample, latest[0][1])


def rejected_items(tenant: Tenant, catalog: Catalog, now: datetime) -> Condition:
    """Items Meta's review rejected after they had been live, read exactly from the per-item timeline.

    A "rejected in review" event within the last ALERTS_REPEAT_HOURS, on a variant whose
    timeline has a "live" event before it, and that is still rejected now. Items rejected at
    their first review never were live (the health page counts them); an item fixed since
    closes the alert. Each new rejection changes the fingerprint, so it is sent at once.
    """
    return _after_live_alert(
        Kind.REJECTED,
        rejected_key(catalog),
        tenant,
        catalog,
        now,
        event=VariantEvent.Kind.REVIEW_REJECTED,
        verdict=Variant.Verdict.REJECTED,
        # Meta's reasons are shown as Meta (or the timeline) wrote them.
        reason=lambda message, detail: raw(message) if message else None,
        title=(
            gettext_noop("1 item of %(catalog)s rejected in Meta's review after being live"),
            gettext_noop("%(n)s items of %(catalog)s rejected in Meta's review after being live"),
        ),
        intro=(
            gettext_noop(
                "Meta's review rejected 1 item that customers could see until then; it is no longer shown. "
                "Its timeline says when and why. Latest:"
            ),
            gettext_noop(
                "Meta's review rejected %(n)s items that customers could see until then; they are no longer shown. "
                "Each item's timeline says when and why. Latest:"
            ),
        ),
        fix=gettext_noop("See the rejected items and why"),
        state=states.REJECTED,
    )


def _not_visible_reasons(detail: dict) -> list[dict]:
    """Why Meta stopped showing an item, from its "not visible" event's detail (Meta's fields then)."""
    reasons = []
    if str(detail.get("visibility", "")).lower() in ("staging", "hidden"):
        reasons.append(t(gettext_noop("hidden in Meta")))
    if str(detail.get("image", "")).upper() in item_state.IMAGE_FAILED:
        reasons.append(t(gettext_noop("Meta cannot fetch the image")))
    if str(detail.get("whatsapp", "")).upper() in item_state.CHANNEL_REJECTED:
        reasons.append(t(gettext_noop("WhatsApp's review rejected it")))
    return reasons


def not_visible_items(tenant: Tenant, catalog: Catalog, now: datetime) -> Condition:
    """Items Meta stopped showing for any other reason than its review after they had been live.

    Hidden in Meta, an image Meta can no longer fetch, WhatsApp's review rejecting the item:
    a "not visible" event within the last ALERTS_REPEAT_HOURS after a "live" one, on a variant
    still not visible now (a review rejection is the alert above). Same rules as that alert.
    """
    return _after_live_alert(
        Kind.NOT_VISIBLE,
        not_visible_key(catalog),
        tenant,
        catalog,
        now,
        event=VariantEvent.Kind.NOT_VISIBLE,
        verdict=Variant.Verdict.NOT_VISIBLE,
        reason=lambda message, detail: join(reasons, ", ") if (reasons := _not_visible_reasons(detail)) else None,
        title=(
            gettext_noop("1 item of %(catalog)s no longer visible after being live"),
            gettext_noop("%(n)s items of %(catalog)s no longer visible after being live"),
        ),
        intro=(
            gettext_noop(
                "Meta stopped showing 1 item that customers could see until then. "
                "Its timeline says when and why. Latest:"
            ),
            gettext_noop(
                "Meta stopped showing %(n)s items that customers could see until then. "
                "Each item's timeline says when and why. Latest:"
            ),
        ),
        fix=gettext_noop("See the items no longer shown and why"),
        state=states.HIDDEN,
    )


def _after_live_alert(
    kind: Kind,
    key: str,
    tenant: Tenant,
    catalog: Catalog,
    now: datetime,
    *,
    event: str,
    verdict: str,
    reason: Callable[[str, dict], Text | None],
    title: tuple[str, str],
    intro: tuple[str, str],
    fix: str,
    state: str,
) -> Condition:
    """The alert of items no longer shown after being live (``_after_live``), closed when there are none.

    ``reason(message, detail)`` says why one item of the sample went ("no reason given" when it
    returns None); ``title`` and ``intro`` are the (one item, several items) message ids, marked
    where they are written; ``state`` is the items' list the fix links to.
    """
    found = _after_live(tenant, catalog, now, event, verdict)
    if found is None:
        return Condition(kind, key, "", open=False, catalog_id=catalog.pk)
    n = found.n
    lines = [
        t(gettext_noop("- %(item)s: %(reason)s"), item=item, reason=_or_no_reason(reason(message, detail)))
        for item, message, detail in found.sample
    ]
    return Condition(
        kind,
        key,
        t(title[0] if n == 1 else title[1], n=n, catalog=catalog.name),
        join([t(intro[0] if n == 1 else intro[1], n=n), *lines], "\n"),
        _items_url(tenant, catalog, state),
        t(fix),
        fingerprint=f"{kind.value}_live:{n}:{found.latest_event_id}",
        catalog_id=catalog.pk,
        seen_count=n,
    )


def _or_no_reason(reason: Text | None) -> Text:
    return reason if reason is not None else t(gettext_noop("no reason given"))


def conversions_failing(tenant: Tenant, now: datetime) -> Condition | None:
    """Conversions API events that died (gave up after their retries) in the last digest period."""
    since = now - timedelta(minutes=settings.ALERTS_DIGEST_MINUTES)
    dead = ConversionEvent.objects.for_tenant(tenant).filter(state=ConversionEvent.State.DEAD, updated_at__gte=since)
    n = dead.count()
    if not n:
        return None
    code = dead.order_by("-updated_at", "-pk").values_list("last_error_code", flat=True).first() or ""
    changelist = reverse("admin:conversions_conversionevent_changelist")
    title = (
        gettext_noop("Conversions API: 1 purchase event could not be sent")
        if n == 1
        else gettext_noop("Conversions API: %(n)s purchase events could not be sent")
    )
    message = (
        t(gettext_noop("Meta refused them or could not be reached after every retry (last error %(code)s)."), code=code)
        if code
        else t(gettext_noop("Meta refused them or could not be reached after every retry."))
    )
    return Condition(
        Kind.CONVERSIONS,
        "conversions",
        t(title, n=n),
        message,
        absolute(f"{changelist}?tenant__id__exact={tenant.pk}&state__exact=dead"),
        t(gettext_noop("See the events and send them again")),
        fingerprint="dead",
    )


# What the drift scan found, per kind of finding (a count before each).
_DRIFT_PARTS = (
    (DriftFinding.Kind.GHOST, gettext_noop("%(n)s ghost item(s): in Meta, not sent by Galantis")),
    (DriftFinding.Kind.DRIFT, gettext_noop("%(n)s item(s) whose values were changed in Meta")),
    (DriftFinding.Kind.DUPLICATE_CATALOG, gettext_noop("%(n)s other catalog(s) holding this store's items")),
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
        parts = [t(msgid, n=n) for kind, msgid in _DRIFT_PARTS if (n := counts.get(kind))]
        name = names.get(catalog_id)
        out.append(
            Condition(
                Kind.DRIFT,
                f"drift:{catalog_id}",
                t(gettext_noop("%(catalog)s: Meta differs from your store"), catalog=name)
                if name
                else t(gettext_noop("A catalog: Meta differs from your store")),
                t(
                    gettext_noop("%(found)s. Drifted items are sent again automatically; ghosts wait for your choice."),
                    found=join(parts, "; "),
                ),
                absolute(f"{changelist}?catalog__id__exact={catalog_id}&state__exact=open"),
                t(gettext_noop("See the drift report")),
                # Re-sent when a kind appears or its count gains a digit, not on every new item (no storms).
                fingerprint=",".join(f"{k}:{len(str(counts[k]))}" for k in sorted(counts)),
                catalog_id=catalog_id,
            )
        )
    return out
