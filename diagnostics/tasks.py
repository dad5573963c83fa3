"""Django-Q2 entry points of the diagnostics app. Thin: each calls one service function."""

from __future__ import annotations

import logging

from catalog.models import Catalog
from catalog.sync import run
from galantis.queue import enqueue

from . import harvest, polling, problem_memo, snapshots, taxonomy

logger = logging.getLogger(__name__)


def _connected_catalogs():
    return Catalog.objects.exclude(meta_catalog_id="").filter(connection__isnull=False).order_by("pk")


def poll_catalog(catalog_id: int, error_type: str | None = None) -> str:
    """Poll Meta's diagnostics for one catalog (product search by priority, or one error type)."""
    catalog = Catalog.objects.select_related("connection").filter(pk=catalog_id).first()
    if catalog is None:
        return "gone"
    return polling.poll_catalog(catalog, error_type=error_type).status


def poll_all_catalogs() -> int:
    """Fan out one poll task per connected catalog (the hourly schedule)."""
    ids = list(_connected_catalogs().values_list("pk", flat=True))
    for catalog_id in ids:
        enqueue("diagnostics.tasks.poll_catalog", catalog_id, group=f"diagnostics:{catalog_id}")
    return len(ids)


def harvest_all_sync_results() -> int:
    """Record issues for finished batches, feed uploads and failed variants (every minute)."""
    done = 0
    for catalog in _connected_catalogs().select_related("connection").iterator(chunk_size=200):
        try:
            harvest.harvest_sync_results(catalog)
            done += 1
        except Exception:  # one broken catalog must not stop the others; the next run retries it
            logger.exception("harvest failed for catalog %s", catalog.pk)
    return done


def take_health_snapshots() -> int:
    """Record a health snapshot per catalog, prune old history and fold the issue versions (hourly)."""
    taken = snapshots.take_all_snapshots()
    snapshots.prune_history()
    problem_memo.fold()
    return taken


def refresh_error_taxonomy() -> int:
    """Reload our taxonomy and read every catalog's diagnostics edge for Meta's current texts (daily)."""
    loaded = taxonomy.load_error_taxonomy()
    asked_all_errors = False
    for catalog in _connected_catalogs().select_related("connection").iterator(chunk_size=200):
        if not asked_all_errors:  # the taxonomy is global: one answer serves every tenant
            try:
                polling.refresh_all_errors(polling.client_for(catalog))
                asked_all_errors = True
            except polling.NotConnected:
                pass
        polling.poll_catalog_diagnostics(catalog)
    return loaded


def poll_catalog_diagnostics(catalog_id: int) -> str:
    """Read one catalog's diagnostics edge (staff re-poll)."""
    catalog = Catalog.objects.select_related("connection").filter(pk=catalog_id).first()
    return polling.poll_catalog_diagnostics(catalog).status if catalog else "gone"


def retry_failed(catalog_id: int) -> int:
    """Send the items Meta rejected again (local failures stay FAILED), then queue a push."""
    catalog = Catalog.objects.filter(pk=catalog_id).first()
    return run.retry_rejected(catalog) if catalog is not None else 0
