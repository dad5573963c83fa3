"""Django-Q2 entry points for catalog work. Thin: each calls one service function."""

from catalog.connection import reconcile, token_health
from catalog.models import Catalog, MetaConnection, ReconciliationReport


def build_reconciliation_report(report_id: int) -> int:
    """Read the Meta catalog of a report and match it to Shopify variants; return items read."""
    report = ReconciliationReport.objects.select_related("catalog", "catalog__connection").filter(
        pk=report_id, state=ReconciliationReport.State.RUNNING
    ).first()
    if report is None:
        return 0
    return reconcile.build_report(report).meta_items_read


def apply_reconciliation_report(report_id: int) -> bool:
    """Apply a confirmed import report (Galantis becomes the source of truth)."""
    report = ReconciliationReport.objects.select_related("catalog", "catalog__store").filter(
        pk=report_id, state=ReconciliationReport.State.APPLYING
    ).first()
    if report is None:
        return False
    reconcile.apply_report(report)
    return True


def check_meta_tokens() -> int:
    """Daily: check every stored Meta token with debug_token (pauses or resumes sync)."""
    return token_health.check_all_tokens()


def check_meta_token(connection_id: int) -> str:
    """Check one stored Meta token now (after a save in the admin, or a staff action)."""
    connection = MetaConnection.objects.filter(pk=connection_id).first()
    return token_health.check_token(connection) if connection else ""


def send_item_deletions(catalog_id: int) -> int:
    """Delete Meta items whose ids Galantis replaced (or the merchant chose to remove)."""
    catalog = Catalog.objects.select_related("connection").filter(pk=catalog_id, sync_enabled=True).first()
    if catalog is None or catalog.is_read_only:
        return 0
    return reconcile.send_deletions(catalog)
