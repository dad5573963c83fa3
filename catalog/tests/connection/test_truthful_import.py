"""The import flow never uploads a locally invalid item as live (real HTTP against the sandbox)."""

from decimal import Decimal

import pytest

from catalog import tasks
from catalog.connection import flows, reconcile
from catalog.models import ReconciliationReport, Variant
from catalog.sync import run

from .conftest import item_for, meta_items, seed_catalog, variant

pytestmark = pytest.mark.django_db(transaction=True)
Status = Variant.SyncStatus


@pytest.fixture
def connected(meta, shop, settings):
    settings.SYNC_POLL_DELAYS = [0.0]
    return flows.connect_token(shop["tenant"], token=meta["access_token"], business_id=meta["business_id"])


def test_a_zero_price_in_an_imported_catalog_is_failed_with_the_fix_and_not_left_live(meta, shop, connected):
    store = shop["store"]
    red, blue = variant(shop, "tee", "Red"), variant(shop, "tee", "Blue")
    # Another tool put both in Meta, live, at a valid price; Shopify now says 0.00 (no compare-at) for both,
    # and only Red went through our refresh (as an import that predates a rule would leave it).
    seed_catalog(meta, meta["catalog_id"], [item_for(red, store), item_for(blue, store)])
    Variant.objects.filter(pk__in=[red.pk, blue.pk]).update(price=Decimal("0.00"), compare_at_price=None)

    catalog = flows.choose_catalog(shop["tenant"], store=store, flow="import", catalog_id=meta["catalog_id"])
    report = ReconciliationReport.objects.latest_for(catalog)
    tasks.build_reconciliation_report(report.pk)
    report.refresh_from_db()
    tasks.apply_reconciliation_report(reconcile.confirm_import(report, user=shop["owner"]).pk)
    for v in (red, blue):
        v.refresh_from_db()
        assert (v.meta_status, v.failure_source) == (Status.FAILED, Variant.FailureSource.LOCAL)
        assert "price above zero" in v.last_error_fix

    catalog.refresh_from_db()  # sync is on now
    result = run.sync_now(catalog, mode="replace_feed", wait=True, timeout=60)
    assert not result.timed_out
    # Left out of the replace feed, which does not own another tool's items (it never listed them):
    # Meta's copy stays, so the next Batch API push hides it. The zero price never goes.
    others = Variant.objects.filter(catalog=catalog).exclude(pk__in=[red.pk, blue.pk])
    assert set(others.values_list("meta_status", flat=True)) == {Status.SYNCED}
    assert not run.sync_now(catalog, mode="batch", wait=True, timeout=60).timed_out
    in_meta = meta_items(meta, meta["catalog_id"], fields="id,retailer_id,price,visibility")
    for v in (red, blue):
        v.refresh_from_db()
        assert v.meta_status == Status.FAILED and v.visibility == "staging"
        assert in_meta[v.retailer_id]["visibility"] == "staging"
        assert in_meta[v.retailer_id]["price"] != "$0.00"
