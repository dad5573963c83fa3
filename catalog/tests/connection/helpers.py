"""Shared builders for the connection tests."""

from catalog import items
from catalog.connection import reconcile
from catalog.models import Catalog, ReconciliationReport, ReconciliationRow


def graph_values(variant, store) -> dict:
    """Meta's read-back of exactly our payload for ``variant`` (Graph field names)."""
    ours = items.meta_item(variant, variant.product, store)
    values = {graph: ours[field] for field, graph in reconcile.COMPARED_FIELDS.items() if field in ours}
    return values


def new_report(catalog: Catalog, purpose: str = "import") -> ReconciliationReport:
    return ReconciliationReport.objects.create(
        tenant=catalog.tenant, catalog=catalog, meta_catalog_id=catalog.meta_catalog_id, purpose=purpose
    )


def meta_row(report, retailer_id: str, name: str = "", item_id: str = "", **values) -> ReconciliationRow:
    """A Meta item as read into a report (before matching)."""
    values.setdefault("name", name)
    return ReconciliationRow.objects.create(
        tenant=report.tenant,
        report=report,
        kind=ReconciliationRow.Kind.META_ONLY,
        meta_item_id=item_id or f"fb-{retailer_id}",
        meta_retailer_id=retailer_id,
        meta_name=name,
        meta_values={k: v for k, v in values.items() if v not in (None, "")},
    )


def run_matcher(report) -> dict[str, list[ReconciliationRow]]:
    reconcile.Matcher(report).run()
    report.recount()
    report.save()
    by_kind: dict[str, list[ReconciliationRow]] = {}
    for row in ReconciliationRow.objects.filter(report=report).order_by("pk"):
        by_kind.setdefault(row.kind, []).append(row)
    return by_kind
