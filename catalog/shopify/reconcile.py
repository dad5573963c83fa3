"""Periodic reconciliation: catch whatever webhooks missed (Shopify may delay or lose some).

Every run: an incremental import of the products updated since the last successful
import (with an overlap); once a day (SHOPIFY_FULL_IMPORT_HOURS) a full import instead,
which is the only way to notice deletions whose webhook was lost. Big stores get the
bulk operation.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from catalog.models import ImportRun, ShopifyStore

from .client import ShopifyClient
from .importer import ImportAlreadyRunning, latest_successful_run, run_import, start_import

logger = logging.getLogger(__name__)


def stores_to_reconcile():
    """Stores connected through connect_store (token checked then) and still installed."""
    return ShopifyStore.objects.filter(uninstalled_at__isnull=True, connected_at__isnull=False)


def plan(store: ShopifyStore, client: ShopifyClient | None = None) -> tuple[str, object]:
    """(mode, updated_since) of the next reconciliation of ``store``."""
    last_full = latest_successful_run(store, full=True)
    if last_full is None or last_full.started_at < timezone.now() - timedelta(hours=settings.SHOPIFY_FULL_IMPORT_HOURS):
        count = (client or ShopifyClient.for_store(store)).products_count()
        big = count is not None and count > settings.SHOPIFY_BULK_THRESHOLD_PRODUCTS
        return (ImportRun.Mode.BULK if big else ImportRun.Mode.PAGED), None
    last = latest_successful_run(store)
    return ImportRun.Mode.INCREMENTAL, last.started_at


def reconcile_store(store: ShopifyStore, client: ShopifyClient | None = None) -> ImportRun | None:
    """Run the planned import for one store; None when another import is already active."""
    client = client or ShopifyClient.for_store(store)
    mode, since = plan(store, client)
    try:
        run = start_import(store, mode=mode, trigger=ImportRun.Trigger.SCHEDULE, updated_since=since)
    except ImportAlreadyRunning:
        logger.info("Store %s: an import is already active, reconciliation skipped", store.pk)
        return None
    return run_import(run, client=client)
