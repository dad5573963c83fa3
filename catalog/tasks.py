"""Django-Q2 entry points for catalog work. Thin: each calls one service function.

Tasks receive ids, re-read the row, and are bounded and idempotent: the database
(PENDING variants, SENT batches) is the truth, a task only a nudge.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model

from catalog import rereview, state_counts, timeline
from catalog.connection import daily_check, reconcile, token_health
from catalog.models import (
    Catalog,
    DriftFinding,
    ImportRun,
    MetaConnection,
    ReconciliationReport,
    ShopifyStore,
    SyncBatch,
)
from catalog.shopify import reconcile as shopify_reconcile
from catalog.shopify import webhooks
from catalog.shopify.connect import ConnectError, connect_store
from catalog.shopify.errors import ShopifyError
from catalog.shopify.importer import ImportAlreadyRunning, run_import, start_import
from catalog.sync import confirm, drift, feeds, product_sets, requested_push, schedule, sweep
from galantis.queue import enqueue

logger = logging.getLogger(__name__)


def _catalog(catalog_id: int) -> Catalog | None:
    return Catalog.objects.select_related("connection").filter(pk=catalog_id).first()


def push_catalog(catalog_id: int) -> dict:
    """Push a bounded number of Batch API calls of pending changes for one catalog, at once."""
    catalog = _catalog(catalog_id)
    return requested_push.push_now(catalog) if catalog else {}


def push_requested(catalog_id: int) -> dict:
    """The coalesced push of changes: after the window, within Meta's hourly call budget."""
    catalog = _catalog(catalog_id)
    return requested_push.run_requested_push(catalog) if catalog else {}


def follow_confirmations(catalog_id: int) -> int:
    """Poll a push's handles as they fall due, so a change is confirmed without waiting a minute."""
    catalog = _catalog(catalog_id)
    return requested_push.follow_confirmations(catalog) if catalog else 0


def confirm_catalog(catalog_id: int) -> dict:
    """Poll the catalog's sent batches and uploads that are due."""
    catalog = _catalog(catalog_id)
    return confirm.confirm_catalog(catalog).as_dict() if catalog else {}


def push_feed(catalog_id: int, kind: str = SyncBatch.Kind.REPLACE_FEED, force: bool = False) -> dict:
    """Upload the catalog's due replace (or update) feeds; every shard with ``force``."""
    catalog = _catalog(catalog_id)
    return feeds.push_feeds(catalog, kind, force=force).as_dict() if catalog else {}


def sync_product_sets(catalog_id: int) -> dict:
    """Bring one catalog's product sets in Meta up to date (bounded writes)."""
    catalog = _catalog(catalog_id)
    return product_sets.sync_product_sets(catalog).as_dict() if catalog else {}


def refresh_product_set_counts(catalog_id: int) -> int:
    """Read Meta's product_count of one catalog's sets (admin action)."""
    catalog = _catalog(catalog_id)
    if catalog is None or not catalog.meta_catalog_id or catalog.connection_id is None:
        return 0
    return product_sets.refresh_meta_counts(catalog)


def sync_due_product_sets() -> int:
    """Schedule: queue a product-set run for catalogs with sets waiting for a write."""
    return schedule.enqueue_due_product_sets()


def push_due_catalogs() -> int:
    """Schedule: queue a push for every catalog with pending changes."""
    return schedule.enqueue_due_pushes()


def confirm_due_batches() -> int:
    """Schedule: queue status polls for catalogs with handles due for a look."""
    return schedule.enqueue_due_confirms()


def push_due_feeds() -> int:
    """Schedule: queue the replace / update feeds that are due."""
    return schedule.enqueue_due_feeds()


def scan_due_drift() -> int:
    """Schedule: queue one drift-scan run per catalog the engine writes."""
    return schedule.enqueue_due_drift_scans()


def scan_drift(catalog_id: int) -> dict:
    """Read the next pages of one catalog back from Meta: ghosts, drift, duplicate catalogs."""
    catalog = _catalog(catalog_id)
    return drift.scan(catalog).as_dict() if catalog else {}


def hide_drift_ghosts(catalog_id: int, finding_ids: list[int], user_id: int | None = None) -> int:
    """Hide ghost items staff chose in the drift report (visibility staging in Meta)."""
    catalog = _catalog(catalog_id)
    if catalog is None:
        return 0
    findings = list(DriftFinding.objects.filter(catalog=catalog, pk__in=finding_ids))
    return drift.hide_ghosts(catalog, findings, user=get_user_model().objects.filter(pk=user_id).first())


def sweep_sync() -> dict:
    """Schedule: release dead claims, time out forgotten handles, queue due deletions."""
    return sweep.sweep()


def reconcile_state_counts() -> int:
    """Fold the maintained variant counts and prove them equal to a COUNT; differences corrected."""
    return len(state_counts.reconcile())


def build_reconciliation_report(report_id: int) -> int:
    """Read the Meta catalog of a report and match it to Shopify variants; return items read."""
    report = (
        ReconciliationReport.objects.select_related("catalog", "catalog__connection")
        .filter(pk=report_id, state=ReconciliationReport.State.RUNNING)
        .first()
    )
    if report is None:
        return 0
    return reconcile.build_report(report).meta_items_read


def apply_reconciliation_report(report_id: int) -> bool:
    """Apply a confirmed import report (Galantis becomes the source of truth)."""
    report = (
        ReconciliationReport.objects.select_related("catalog", "catalog__store")
        .filter(pk=report_id, state=ReconciliationReport.State.APPLYING)
        .first()
    )
    if report is None:
        return False
    reconcile.apply_report(report)
    return True


def check_meta_tokens() -> int:
    """Daily: check every stored Meta token with debug_token (pauses or resumes sync)."""
    return daily_check.check_all_tokens()


def check_meta_token(connection_id: int) -> str:
    """Check one stored Meta token now (after a save in the admin, or a staff action)."""
    connection = MetaConnection.objects.filter(pk=connection_id).first()
    return token_health.check_token(connection) if connection else ""


def send_due_item_deletions() -> int:
    """Schedule: send the queued Meta item deletions (replaced ids, chosen orphans) that are due."""
    return reconcile.send_due_deletions()


# -- Shopify in: import, reconciliation, webhooks ---------------------------------------


def run_shopify_import(run_id: int) -> str:
    """Run a queued ImportRun (created by the admin or by ``shopify_import``)."""
    run = ImportRun.objects.filter(pk=run_id, state=ImportRun.State.QUEUED).select_related("store").first()
    if run is None:
        return "not queued"
    try:
        return run_import(run).state
    except ShopifyError as exc:
        # Recorded on the run; a Shopify outage is not a task crash.
        logger.warning("Import %s failed: %s", run_id, exc)
        return ImportRun.State.FAILED


def shopify_import(store_id: int, bulk: bool = False) -> str:
    """Full import of one store (the task twin of ``manage.py shopify_import``)."""
    store = ShopifyStore.objects.filter(pk=store_id, uninstalled_at__isnull=True).first()
    if store is None:
        return "no store"
    mode = ImportRun.Mode.BULK if bulk else ImportRun.Mode.PAGED
    try:
        run = start_import(store, mode=mode, trigger=ImportRun.Trigger.TASK)
    except ImportAlreadyRunning as exc:
        return str(exc)
    return run_shopify_import(run.pk)


def reconcile_shopify_stores() -> int:
    """Scheduled: queue one reconciliation per connected store."""
    ids = list(shopify_reconcile.stores_to_reconcile().values_list("pk", flat=True))
    for store_id in ids:
        enqueue("catalog.tasks.reconcile_shopify_store", store_id, group=f"shopify-import:{store_id}")
    return len(ids)


def reconcile_shopify_store(store_id: int) -> str:
    """Incremental (or daily full) import of one store."""
    store = shopify_reconcile.stores_to_reconcile().filter(pk=store_id).first()
    if store is None:
        return "no store"
    try:
        run = shopify_reconcile.reconcile_store(store)
    except ShopifyError as exc:
        logger.warning("Reconciliation of store %s failed: %s", store_id, exc)
        return ImportRun.State.FAILED
    return run.state if run else "skipped"


def drain_shopify_webhooks(store_id: int) -> int:
    """Process a store's received webhook events (one task per burst of deliveries)."""
    return webhooks.drain(store_id)


def sweep_shopify_webhooks() -> int:
    """Scheduled: process webhook events whose task was lost."""
    return webhooks.sweep()


def recheck_shopify_store(store_id: int) -> str:
    """Check the stored token with a shop query and re-register missing webhooks (admin action)."""
    store = ShopifyStore.objects.filter(pk=store_id).select_related("tenant").first()
    if store is None:
        return "no store"
    try:
        result = connect_store(
            store.tenant,
            store.shop_domain,
            store.access_token,
            store.webhook_secret,
            admin_url=store.admin_url,
            api_version=store.api_version,
        )
    except ConnectError as exc:
        logger.warning("Store %s connection check failed: %s", store_id, exc)
        return f"failed: {exc}"
    created, failed = len(result.subscriptions_created), len(result.subscriptions_failed)
    return f"ok: {created} webhook(s) re-registered, {failed} failed"


def rereview_due_catalogs() -> int:
    """Schedule: queue one re-review run per catalog that has rejected items (catalog.rereview)."""
    return rereview.enqueue_due()


def rereview_catalog(catalog_id: int) -> dict:
    """Queue the catalog's fixed rejected items and send its re-review queue within Meta's limits."""
    catalog = _catalog(catalog_id)
    return rereview.run(catalog).__dict__ if catalog else {}


def purge_timeline() -> int:
    """Schedule: delete timeline events older than TIMELINE_RETENTION_DAYS."""
    return timeline.purge_expired()
