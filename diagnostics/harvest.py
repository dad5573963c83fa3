"""Turn finished sync work into issues minute by minute: failed variants and feed upload errors.

Cheap when nothing happened: three UPDATEs that find nothing to resolve, an indexed
look-up of FAILED variants changed since the last harvest, and look-ups of batches and
feed uploads finished since then. When a sync finished, a health snapshot is taken
(``snapshots.take_after_sync``) so the trend chart follows the sync, not only the hour.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from catalog.meta.errors import GraphAPIError
from catalog.models import Catalog, SyncBatch

from .failures import WATERMARK_OVERLAP, resolve_excluded, sync_failure_issues
from .integration import mirror_sync_pause, record_integration_error
from .models import DiagnosticsRun
from .polling import FEED_KINDS, NotConnected, harvest_feed_errors
from .snapshots import take_after_sync

logger = logging.getLogger(__name__)


def harvest_sync_results(catalog: Catalog) -> DiagnosticsRun:
    """Record issues for what the sync engine finished since the last harvest; return the run row.

    One run row per catalog is kept moving forward while nothing changes, so a
    minute-by-minute schedule does not grow the table.
    """
    now = timezone.now()
    last = (
        DiagnosticsRun.objects.filter(catalog=catalog, kind=DiagnosticsRun.Kind.SYNC_RESULTS)
        .order_by("-started_at")
        .first()
    )
    since = last.watermark if last else None
    mirror_sync_pause(catalog, now=now)
    counts = sync_failure_issues(catalog, since=since, now=now)
    # Meta's own reports (diagnostics poll, feed samples) on variants no longer to be live.
    counts.resolved += resolve_excluded(catalog, now=now)
    finished = SyncBatch.objects.filter(catalog=catalog, finished_at__isnull=False)
    if since is not None:
        finished = finished.filter(finished_at__gt=since - WATERMARK_OVERLAP)
    synced_since = finished.exists()
    feeds = SyncBatch.objects.filter(catalog=catalog, kind__in=FEED_KINDS, state=SyncBatch.State.FINISHED).exclude(
        handle=""
    )
    if since is not None:
        feeds = feeds.filter(finished_at__gt=since)
    status, error_code, error_message, opened = DiagnosticsRun.Status.OK, "", "", counts.opened
    for batch in feeds.order_by("finished_at")[:20]:
        try:
            opened += harvest_feed_errors(catalog, batch)
        except NotConnected as exc:
            status, error_code, error_message = DiagnosticsRun.Status.FAILED, "not_connected", str(exc)
            break
        except GraphAPIError as exc:
            record_integration_error(catalog, exc, operation="feed_errors")
            status = DiagnosticsRun.Status.PARTIAL
            error_code, error_message = str(getattr(exc, "code", "") or "error"), str(exc)
            break
    if synced_since:
        take_after_sync(catalog, now=now)
    changed = opened or counts.updated or counts.resolved or status != DiagnosticsRun.Status.OK
    if last is not None and not changed and last.status == DiagnosticsRun.Status.OK:
        DiagnosticsRun.objects.filter(pk=last.pk).update(watermark=now, finished_at=timezone.now())
        last.watermark = now
        return last
    # After a failed feed read, keep the old watermark so the next harvest tries it again.
    watermark = now if status == DiagnosticsRun.Status.OK else since
    return DiagnosticsRun.objects.create(
        tenant_id=catalog.tenant_id,
        catalog=catalog,
        kind=DiagnosticsRun.Kind.SYNC_RESULTS,
        status=status,
        started_at=now,
        finished_at=timezone.now(),
        watermark=watermark,
        opened=opened,
        updated=counts.updated,
        resolved=counts.resolved,
        error_code=error_code[:64],
        error_message=error_message[:2000],
    )
