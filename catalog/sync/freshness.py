"""How fresh Meta's copy is: per catalog, the p95 of change → sent and change → confirmed over
the last hour, and the Batch API calls spent this hour against the budget.

Read from the per-call timings on ``SyncBatch`` (``changed_at``, ``sent_at``,
``finished_at``) through the ``syncbatch_catalog_sent`` index: one query over at most a
few hundred rows per catalog (Meta allows a catalog about 200 calls an hour), never a
count over variants, so the health page stays cheap whatever the catalog's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from catalog.models import Catalog, SyncBatch

from .budget import hour_start

WINDOW = timedelta(hours=1)
# Rows read for one page; a catalog within Meta's budget makes far fewer calls an hour.
MAX_ROWS = 2000


@dataclass
class Freshness:
    """One catalog's freshness over the last hour (seconds; None without a sample)."""

    catalog_id: int
    samples: int = 0
    sent_p50: float | None = None
    sent_p95: float | None = None
    confirmed_p50: float | None = None
    confirmed_p95: float | None = None
    calls_this_hour: int = 0
    quota: int = 0

    @property
    def budget_used_pct(self) -> int:
        return round(100 * self.calls_this_hour / self.quota) if self.quota else 0


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (p95 of 20 samples is the 19th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return round(ordered[int(rank) - 1], 1)


def for_catalogs(catalog_ids: Sequence[int], *, now: datetime | None = None) -> dict[int, Freshness]:
    """Freshness of each catalog, in one query."""
    now = now or timezone.now()
    out = {pk: Freshness(pk, quota=settings.SYNC_BATCH_CALLS_PER_HOUR) for pk in catalog_ids}
    if not catalog_ids:
        return out
    since = min(now - WINDOW, hour_start(now))
    rows = (
        SyncBatch.objects.filter(catalog_id__in=list(catalog_ids), kind=SyncBatch.Kind.ITEMS_BATCH, sent_at__gte=since)
        .order_by("-sent_at")
        .values_list("catalog_id", "changed_at", "sent_at", "finished_at")[:MAX_ROWS]
    )
    sent: dict[int, list[float]] = defaultdict(list)
    confirmed: dict[int, list[float]] = defaultdict(list)
    for catalog_id, changed_at, sent_at, finished_at in rows:
        if sent_at >= hour_start(now):
            out[catalog_id].calls_this_hour += 1
        if changed_at is None or sent_at < now - WINDOW:
            continue
        sent[catalog_id].append((sent_at - changed_at).total_seconds())
        if finished_at is not None:
            confirmed[catalog_id].append((finished_at - changed_at).total_seconds())
    for catalog_id, fresh in out.items():
        fresh.samples = len(sent[catalog_id])
        fresh.sent_p50, fresh.sent_p95 = percentile(sent[catalog_id], 50), percentile(sent[catalog_id], 95)
        fresh.confirmed_p50 = percentile(confirmed[catalog_id], 50)
        fresh.confirmed_p95 = percentile(confirmed[catalog_id], 95)
    return out


def summarise(catalog: Catalog, *, now: datetime | None = None) -> Freshness:
    """Freshness of one catalog (the admin's catalog page)."""
    return for_catalogs([catalog.pk], now=now)[catalog.pk]
