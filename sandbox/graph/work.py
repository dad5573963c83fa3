"""Meta's background work, done lazily: whenever a catalog is touched, everything that
should have happened to it by now (batches, feed uploads, item reviews) happens first."""

from __future__ import annotations

from datetime import datetime

from ..models import ProductCatalog
from . import batches, feeds
from .ingest import complete_due_reviews


def catch_up(catalog: ProductCatalog, now: datetime) -> None:
    """Process due batches and uploads in arrival order, then finish due item reviews."""
    batches.process_due(catalog, now)
    feeds.process_due(catalog, now)
    complete_due_reviews(catalog, now)
