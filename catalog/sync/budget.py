"""Meta's hourly items_batch budget of one catalog: what is left, and how far apart calls go.

Meta counts Batch API calls per catalog in a rolling hour (about 200 for a business with
one user, ``SYNC_BATCH_CALLS_PER_HOUR``) and reports the share used in
``X-Business-Use-Case-Usage``, which :mod:`catalog.meta.throttle` keeps in
``GraphThrottle``. We also count our own calls (``SyncBatch.sent_at`` this clock hour) and
believe the higher of the two. A catalog within its pace (no more calls than an even
spread of the quota allows by this minute of the hour, plus ``SYNC_PUSH_BURST_CALLS``)
pushes as soon as the coalescing window ends, so a burst of changes goes in seconds;
beyond it, what is left is spread over the rest of the hour, so a steady stream of changes
never spends the hour before it ends. When little is left the budget is *tight* and only
volatile fields travel by the Batch API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from catalog.meta.throttle import BATCH, USAGE_TTL
from catalog.models import Catalog, GraphThrottle, SyncBatch

HOUR = 3600.0


@dataclass(frozen=True)
class Budget:
    """One catalog's items_batch calls this hour."""

    quota: int
    used: int
    seconds_left: float
    burst: int = 0
    reserve: int = 0

    @property
    def remaining(self) -> int:
        return max(self.quota - self.used, 0)

    @property
    def within_pace(self) -> bool:
        """No more calls used than an even spread allows by now, plus the burst allowance.

        Never past the reserve: the hour's last calls are kept for price and stock.
        """
        elapsed = min(max(HOUR - self.seconds_left, 0.0), HOUR)
        allowance = min(self.quota * elapsed / HOUR + self.burst, self.quota - self.reserve)
        return self.used < allowance

    @property
    def spacing(self) -> float:
        """Seconds between two calls: none within the pace, else so what is left lasts the hour."""
        if not self.remaining:
            return self.seconds_left
        if self.within_pace:
            return 0.0
        return self.seconds_left / self.remaining

    @property
    def tight(self) -> bool:
        """So little is left that only price and stock changes may spend it."""
        return self.remaining <= self.reserve or self.spacing >= settings.SYNC_PUSH_TIGHT_SPACING

    def carries(self, pending: int, batch_size: int) -> bool:
        """Whether what is left this hour can carry ``pending`` items through the Batch API."""
        return math.ceil(pending / max(batch_size, 1)) <= self.remaining

    def as_dict(self) -> dict:
        return {
            "quota": self.quota,
            "used": self.used,
            "remaining": self.remaining,
            "spacing_seconds": round(self.spacing, 1),
            "within_pace": self.within_pace,
            "tight": self.tight,
        }


def hour_start(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def calls_this_hour(catalog_id: int, now: datetime) -> int:
    """Our own items_batch calls to the catalog since the hour began (``syncbatch_catalog_sent``)."""
    return SyncBatch.objects.filter(
        catalog_id=catalog_id, kind=SyncBatch.Kind.ITEMS_BATCH, sent_at__gte=hour_start(now)
    ).count()


def meta_usage_pct(catalog: Catalog, now: datetime) -> float:
    """The catalog batch share Meta last reported (0 when the reading is too old to mean anything)."""
    key = f"catalog:{catalog.meta_catalog_id or catalog.pk}:{BATCH}"
    row = GraphThrottle.objects.filter(key=key).values_list("usage_pct", "updated_at").first()
    if row is None or now - row[1] > USAGE_TTL:
        return 0.0
    return row[0]


def for_catalog(catalog: Catalog, *, now: datetime | None = None) -> Budget:
    """The catalog's budget now (two small queries)."""
    now = now or timezone.now()
    quota = max(settings.SYNC_BATCH_CALLS_PER_HOUR, 1)
    reported = math.ceil(meta_usage_pct(catalog, now) * quota / 100)
    used = max(calls_this_hour(catalog.pk, now), reported)
    seconds_left = max((hour_start(now) + timedelta(hours=1) - now).total_seconds(), 1.0)
    return Budget(
        quota=quota,
        used=used,
        seconds_left=seconds_left,
        burst=settings.SYNC_PUSH_BURST_CALLS,
        reserve=settings.SYNC_BATCH_RESERVE_CALLS,
    )
