"""Meta's background work, done lazily: whenever a catalog is touched, everything that
should have happened to it by now (batches, feed uploads, item reviews) happens first."""

from __future__ import annotations

from datetime import datetime

from ..models import ProductCatalog
from . import batches, feeds
from .ingest import complete_due_reviews


def catch_up(catalog: ProductCatalog, now: datetime) -> int:
    """Process due batches and uploads in arrival order, then finish due item reviews.

    Returns how many batches, uploads and items changed (0: nothing happened)."""
    changed = batches.process_due(catalog, now)
    changed += feeds.process_due(catalog, now)
    return changed + complete_due_reviews(catalog, now)
