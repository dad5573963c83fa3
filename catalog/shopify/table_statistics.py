"""Keep PostgreSQL's planner statistics in step with a large import.

The importer looks up each batch's products and variants by ``(tenant, shopify id)``. The
planner picks the plan from its statistics: for a tenant it has (almost) never seen rows of,
it expects a handful and reads "all of the tenant's rows" through a tenant index instead of
probing the unique index id by id. While a first import writes a million rows that guess
turns each 900-id lookup into a scan of everything imported so far, an import quadratic in
the store's size (figures in bench/README.md, "History"). Autovacuum corrects the statistics
only once 10% of the *whole* table has changed, which in a shared table of many tenants may
be never for one store's import, and not at all where autovacuum is off. So the import
itself runs ``ANALYZE`` on the two tables when it has created
``SHOPIFY_IMPORT_ANALYZE_ROWS`` rows, and again at four times as many (a handful of times
per import; each samples a fixed 30,000 rows, well under a second).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections, router

from catalog.models import Product, Variant

logger = logging.getLogger(__name__)

GROWTH_FACTOR = 4


class GrowthAnalyzer:
    """Counts the rows an import created; analyses the product tables at growing thresholds."""

    def __init__(self, first_at: int | None = None) -> None:
        self.first_at = settings.SHOPIFY_IMPORT_ANALYZE_ROWS if first_at is None else first_at
        self.created = 0
        self.next_at = self.first_at
        self.analyzed = 0

    def created_rows(self, count: int) -> bool:
        """Record ``count`` new rows; True when the statistics were refreshed now."""
        self.created += count
        if self.first_at <= 0 or self.created < self.next_at:
            return False
        self.next_at = self.created * GROWTH_FACTOR
        connection = connections[router.db_for_write(Variant)]
        if connection.vendor != "postgresql":
            return False  # SQLite plans from its own sqlite_stat1 and indexes; nothing to refresh here
        with connection.cursor() as cursor:
            for model in (Product, Variant):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        self.analyzed += 1
        logger.info("import: refreshed planner statistics after %s new rows", self.created)
        return True
