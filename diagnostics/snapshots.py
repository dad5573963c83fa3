"""Health snapshots for the trend charts, and pruning of old history."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from catalog.models import Catalog, Variant

from .models import CatalogIssue, DiagnosticsRun, HealthSnapshot, ItemIssue, Priority

SNAPSHOT_RETENTION = timedelta(days=90)
RUN_RETENTION = timedelta(days=30)
RESOLVED_ISSUE_RETENTION = timedelta(days=30)
DELETE_CHUNK = 2000


def take_snapshot(catalog: Catalog, *, taken_at: datetime | None = None) -> HealthSnapshot:
    """Record the catalog's PENDING / SYNCED / FAILED counts and open issues by priority (3 grouped queries)."""
    taken_at = taken_at or timezone.now()
    counts = Variant.objects.filter(catalog_id=catalog.pk).status_counts()
    by_priority = dict(
        ItemIssue.objects.open().filter(catalog_id=catalog.pk).order_by()
        .values_list("priority").annotate(n=Count("pk"))
    )
    return HealthSnapshot.objects.create(
        tenant_id=catalog.tenant_id,
        catalog=catalog,
        taken_at=taken_at,
        pending=counts[Variant.SyncStatus.PENDING],
        synced=counts[Variant.SyncStatus.SYNCED],
        failed=counts[Variant.SyncStatus.FAILED],
        open_high=by_priority.get(Priority.HIGH, 0),
        open_medium=by_priority.get(Priority.MEDIUM, 0),
        open_low=by_priority.get(Priority.LOW, 0),
        catalog_issues=CatalogIssue.objects.open().filter(catalog_id=catalog.pk).count(),
    )


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
        "item_issues": _delete_in_chunks(
            ItemIssue.objects.filter(resolved_at__lt=now - RESOLVED_ISSUE_RETENTION)
        ),
        "catalog_issues": _delete_in_chunks(
            CatalogIssue.objects.filter(resolved_at__lt=now - RESOLVED_ISSUE_RETENTION)
        ),
    }


def _delete_in_chunks(qs) -> int:
    deleted = 0
    while ids := list(qs.order_by("pk").values_list("pk", flat=True)[:DELETE_CHUNK]):
        deleted += qs.model.objects.filter(pk__in=ids).delete()[0]
    return deleted
