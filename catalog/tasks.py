"""Django-Q2 entry points for catalog work. Thin: each calls one service function.

Tasks receive ids, re-read the row, and are bounded and idempotent: the database
(PENDING variants, SENT batches) is the truth, a task only a nudge.
"""

from __future__ import annotations

from catalog.models import Catalog, SyncBatch
from catalog.sync import confirm, feeds, push, schedule, sweep


def _catalog(catalog_id: int) -> Catalog | None:
    return Catalog.objects.select_related("connection").filter(pk=catalog_id).first()


def push_catalog(catalog_id: int) -> dict:
    """Push a bounded number of Batch API calls of pending changes for one catalog."""
    catalog = _catalog(catalog_id)
    return push.push_catalog(catalog).as_dict() if catalog else {}


def confirm_catalog(catalog_id: int) -> dict:
    """Poll the catalog's sent batches and uploads that are due."""
    catalog = _catalog(catalog_id)
    return confirm.confirm_catalog(catalog).as_dict() if catalog else {}


def push_feed(catalog_id: int, kind: str = SyncBatch.Kind.REPLACE_FEED, force: bool = False) -> dict:
    """Upload the catalog's due replace (or update) feeds; every shard with ``force``."""
    catalog = _catalog(catalog_id)
    return feeds.push_feeds(catalog, kind, force=force).as_dict() if catalog else {}


def push_due_catalogs() -> int:
    """Schedule: queue a push for every catalog with pending changes."""
    return schedule.enqueue_due_pushes()


def confirm_due_batches() -> int:
    """Schedule: queue status polls for catalogs with handles due for a look."""
    return schedule.enqueue_due_confirms()


def push_due_feeds() -> int:
    """Schedule: queue the replace / update feeds that are due."""
    return schedule.enqueue_due_feeds()


def sweep_sync() -> dict:
    """Schedule: release dead claims, time out forgotten handles, queue due deletions."""
    return sweep.sweep()
