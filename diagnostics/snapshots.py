"""Health snapshots for the trend charts (hourly, and after each sync), and pruning of old history.

A snapshot holds the numbers the health page's cards show (``states.counts_for``, i.e.
``health_counts()``, and ``problems.priority_totals``), so a chart never draws a line the
cards contradict.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from django.utils import timezone

from catalog.models import Catalog

from . import problems, states
from .models import CatalogIssue, DiagnosticsRun, HealthSnapshot, ItemIssue, Priority

SNAPSHOT_RETENTION = timedelta(days=90)
RUN_RETENTION = timedelta(days=30)
RESOLVED_ISSUE_RETENTION = timedelta(days=30)
DELETE_CHUNK = 2000
# After a sync at most one snapshot per catalog this often: a catalog syncing every minute
# keeps its chart readable (and its table small); the page's own "now" point is always current.
AFTER_SYNC_MIN_GAP = timedelta(minutes=10)


def take_snapshot(catalog: Catalog, *, taken_at: datetime | None = None) -> HealthSnapshot:
    """Record the catalog's variants per state and variants with open problems per priority (4 queries)."""
    taken_at = taken_at or timezone.now()
    counts = states.counts_for_catalogs([catalog.pk])
    by_priority = problems.priority_totals(problems.open_issues(catalog.tenant_id, [catalog.pk]))
    return HealthSnapshot.objects.create(
        tenant_id=catalog.tenant_id,
        catalog=catalog,
        taken_at=taken_at,
        # The snapshot's variant counts are the cards' StateCounts, each field under its own name.
        **asdict(counts),
        synced=counts.synced,
        open_high=by_priority[Priority.HIGH],
        open_medium=by_priority[Priority.MEDIUM],
        open_low=by_priority[Priority.LOW],
        catalog_issues=CatalogIssue.objects.open().filter(catalog_id=catalog.pk).count(),
    )


def take_after_sync(catalog: Catalog, *, now: datetime | None = None) -> HealthSnapshot | None:
    """A snapshot once a sync finished, unless one was taken in the last ``AFTER_SYNC_MIN_GAP``."""
    now = now or timezone.now()
    if HealthSnapshot.objects.filter(catalog_id=catalog.pk, taken_at__gt=now - AFTER_SYNC_MIN_GAP).exists():
        return None
    return take_snapshot(catalog, taken_at=now)


def take_all_snapshots(now: datetime | None = None) -> int:
    """Snapshot every catalog; all rows of one run share ``taken_at`` so tenant totals line up."""
    taken_at = (now or timezone.now()).replace(second=0, microsecond=0)
    taken = 0
    for catalog in Catalog.objects.order_by("pk").iterator(chunk_size=500):
        take_snapshot(catalog, taken_at=taken_at)
        taken += 1
    return taken


def prune_history(now: datetime | None = None) -> dict[str, int]:
    """Delete old snapshots, runs and long-resolved issues in bounded chunks; return counts."""
    now = now or timezone.now()
    return {
        "snapshots": _delete_in_chunks(HealthSnapshot.objects.filter(taken_at__lt=now - SNAPSHOT_RETENTION)),
        "runs": _delete_in_chunks(DiagnosticsRun.objects.filter(started_at__lt=now - RUN_RETENTION)),
        "item_issues": _delete_in_chunks(ItemIssue.objects.filter(resolved_at__lt=now - RESOLVED_ISSUE_RETENTION)),
        "catalog_issues": _delete_in_chunks(
            CatalogIssue.objects.filter(resolved_at__lt=now - RESOLVED_ISSUE_RETENTION)
        ),
    }


def _delete_in_chunks(qs) -> int:
    deleted = 0
    while ids := list(qs.order_by("pk").values_list("pk", flat=True)[:DELETE_CHUNK]):
        deleted += qs.model.objects.filter(pk__in=ids).delete()[0]
    return deleted
