"""Issue 19's bad input from Meta, over HTTP against the sandbox Graph API.

Meta returns items we cannot match (another tool's, in the same catalog) and review statuses
we do not know (one Meta adds later): neither may be taken for one of ours, raise, or be
hidden from the merchant.
"""

from __future__ import annotations

import pytest

from alerts import digest
from alerts.models import Alert, Kind
from catalog import rereview, tenants
from catalog.graph_clients import client_for
from catalog.models import DriftFinding, Membership, ReReviewRequest, Variant, VariantEvent
from catalog.sync import drift
from catalog.tests.factories import UserFactory
from catalog.tests.test_drift import another_tool
from catalog.tests.test_rereview import _poll, _variant
from catalog.tests.test_sync_e2e import catalog, meta, push_and_confirm  # noqa: F401 (fixtures)
from diagnostics.verdicts import poll_verdicts
from sandbox.models import ProductItem

pytestmark = pytest.mark.django_db(transaction=True)
Event = VariantEvent.Kind

OTHER_TOOLS_ITEM = {
    "title": "Someone else's bag",
    "description": "x",
    "availability": "in stock",
    "condition": "new",
    "price": "5.00 USD",
    "link": "https://shop.example.com/x",
    "image_link": "https://cdn.example.com/x.jpg",
    "brand": "Other",
}


def _live(catalog) -> Variant:  # noqa: F811
    item = _variant(catalog)
    push_and_confirm(catalog)
    _poll(catalog)
    item.refresh_from_db()
    assert item.verdict == Variant.Verdict.LIVE
    return item


def test_a_rejected_item_meta_returns_that_is_not_ours_is_counted_and_left_alone(catalog):  # noqa: F811
    ours = _live(catalog)
    another_tool(catalog, [{"method": "CREATE", "data": {**OTHER_TOOLS_ITEM, "id": "OTHER-TOOL-9"}}])
    ProductItem.objects.filter(retailer_id="OTHER-TOOL-9").update(review_status="rejected")

    report = poll_verdicts(catalog, client_for(catalog))

    assert (report.rejected, report.unmatched) == (1, 1)  # read, recognised as not ours
    assert not Variant.objects.filter(retailer_id="OTHER-TOOL-9").exists()
    ours.refresh_from_db()
    assert ours.verdict == Variant.Verdict.LIVE  # nothing of it landed on our item
    assert rereview.run(catalog).calls == 0 and not ReReviewRequest.objects.exists()
    digest.build_for_tenant(catalog.tenant)
    assert not Alert.objects.filter(kind=Kind.REJECTED, resolved_at__isnull=True).exists()
    # The drift scan reports it, as an item we never sent: the merchant decides.
    catalog.refresh_from_db()
    assert drift.scan(catalog, pages=50).ghosts == 1
    ghost = DriftFinding.objects.get(kind=DriftFinding.Kind.GHOST)
    assert (ghost.retailer_id, ghost.variant_id) == ("OTHER-TOOL-9", None)


def test_a_review_status_meta_adds_later_is_kept_shown_and_not_taken_for_a_rejection(catalog, client):  # noqa: F811
    owner = UserFactory(username="owner-unknown", email="owner@unknown-status.example")
    tenants.add_member(catalog.tenant, owner, role=Membership.Role.OWNER)
    item = _live(catalog)
    ProductItem.objects.filter(retailer_id=item.retailer_id).update(review_status="escalated")

    _poll(catalog)

    item.refresh_from_db()
    assert (item.review_status, item.verdict) == ("escalated", Variant.Verdict.IN_REVIEW)
    last = VariantEvent.objects.for_variant(item.pk).newest_first().first()
    assert last.kind == Event.IN_REVIEW and last.detail["review_status"] == "escalated"
    assert rereview.request_review(Variant.objects.filter(pk=item.pk), by="staff") == (0, 1)
    digest.build_for_tenant(catalog.tenant)
    assert not Alert.objects.filter(kind=Kind.REJECTED, resolved_at__isnull=True).exists()
    client.force_login(owner)
    page = client.get(f"/health/products/{item.product_id}/").content.decode()
    assert "unknown: escalated" in page  # shown as Meta said it, never hidden
