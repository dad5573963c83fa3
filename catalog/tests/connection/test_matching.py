"""Matching Meta items to Shopify variants: the four passes, categories and at-scale safety."""

from decimal import Decimal

import pytest

from catalog.models import Catalog, Product, ReconciliationRow
from catalog.tests.factories import CatalogFactory, ProductFactory, VariantFactory

from .helpers import graph_values, meta_row, new_report, run_matcher

Kind = ReconciliationRow.Kind
Method = ReconciliationRow.Method


@pytest.fixture
def imported(tenant, store):
    return CatalogFactory(tenant=tenant, store=store, flow=Catalog.Flow.IMPORT, sync_enabled=False)


@pytest.fixture
def product(tenant, store):
    return ProductFactory(tenant=tenant, store=store, title="Winter Coat", handle="winter-coat")


@pytest.mark.django_db
def test_identical_item_with_our_retailer_id_is_matched(imported, product, store):
    variant = VariantFactory(product=product)
    report = new_report(imported)
    meta_row(report, variant.retailer_id, **graph_values(variant, store))
    rows = run_matcher(report)
    assert [r.variant_id for r in rows[Kind.MATCHED]] == [variant.pk]
    assert rows[Kind.MATCHED][0].method == Method.RETAILER_ID
    assert report.matched == 1 and report.different == 0


@pytest.mark.django_db
def test_changed_price_is_matched_with_field_differences(imported, product, store):
    variant = VariantFactory(product=product, price=Decimal("19.99"))
    report = new_report(imported)
    values = graph_values(variant, store) | {"price": "17.00 USD"}
    meta_row(report, variant.retailer_id, **values)
    row = run_matcher(report)[Kind.DIFFERENT][0]
    assert row.differences == [{"field": "price", "ours": "19.99 USD", "meta": "17.00 USD"}]


@pytest.mark.django_db
def test_item_keyed_by_unique_sku_is_an_id_change(imported, product, store):
    variant = VariantFactory(product=product, sku="COAT-S")
    report = new_report(imported)
    meta_row(report, "COAT-S", **graph_values(variant, store))
    row = run_matcher(report)[Kind.ID_CHANGE][0]
    assert (row.variant_id, row.method) == (variant.pk, Method.SKU)


@pytest.mark.django_db
def test_shared_sku_matches_nothing_and_says_why(imported, product):
    VariantFactory(product=product, sku="DUP")
    VariantFactory(product=product, sku="DUP")
    report = new_report(imported)
    meta_row(report, "DUP", name="Something else")
    row = run_matcher(report)[Kind.META_ONLY][0]
    assert "shared by 2" in row.note


@pytest.mark.django_db
def test_product_level_item_maps_every_variant_scenario_3(imported, product):
    """An old feed without variants (id = product id): each variant takes it as previous_id."""
    variants = [VariantFactory(product=product, options={"Size": s}) for s in ("S", "M", "L")]
    report = new_report(imported)
    meta_row(report, str(product.shopify_product_id), name="Winter Coat", price="299.00 USD")
    rows = run_matcher(report)
    id_changes = rows[Kind.ID_CHANGE]
    assert sorted(r.variant_id for r in id_changes) == sorted(v.pk for v in variants)
    assert {r.meta_retailer_id for r in id_changes} == {str(product.shopify_product_id)}
    assert {r.method for r in id_changes} == {Method.PRODUCT}
    assert Kind.META_ONLY not in rows and Kind.MISSING_IN_META not in rows
    assert report.id_changed == 3


@pytest.mark.django_db
def test_product_handle_as_item_id_is_product_level(imported, product):
    variant = VariantFactory(product=product)
    report = new_report(imported)
    meta_row(report, "winter-coat", name="Winter Coat")
    assert run_matcher(report)[Kind.ID_CHANGE][0].variant_id == variant.pk


@pytest.mark.django_db
def test_title_and_size_pick_one_variant(imported, product):
    VariantFactory(product=product, options={"Size": "S"}, sku="")
    medium = VariantFactory(product=product, options={"Size": "M"}, sku="")
    report = new_report(imported)
    meta_row(report, "legacy-123", name="Winter Coat", size="m")
    rows = run_matcher(report)
    assert rows[Kind.ID_CHANGE][0].variant_id == medium.pk
    assert rows[Kind.ID_CHANGE][0].method == Method.TITLE


@pytest.mark.django_db
def test_title_alone_is_ambiguous_for_several_variants(imported, product):
    VariantFactory(product=product, options={"Size": "S"})
    VariantFactory(product=product, options={"Size": "M"})
    report = new_report(imported)
    meta_row(report, "legacy-9", name="Winter Coat")
    row = run_matcher(report)[Kind.META_ONLY][0]
    assert "2 Shopify variants" in row.note


@pytest.mark.django_db
def test_unknown_meta_item_is_meta_only_and_unmatched_variant_is_missing(imported, product):
    variant = VariantFactory(product=product)
    report = new_report(imported)
    meta_row(report, "nobody-knows", name="Ghost")
    rows = run_matcher(report)
    assert rows[Kind.META_ONLY][0].meta_retailer_id == "nobody-knows"
    assert rows[Kind.MISSING_IN_META][0].variant_id == variant.pk
    assert rows[Kind.MISSING_IN_META][0].our_hash


@pytest.mark.django_db
def test_exact_match_wins_over_sku_for_the_same_variant(imported, product, store):
    variant = VariantFactory(product=product, sku="COAT-S")
    report = new_report(imported)
    meta_row(report, "COAT-S", name="Winter Coat")  # an old duplicate keyed by SKU
    meta_row(report, variant.retailer_id, **graph_values(variant, store))
    rows = run_matcher(report)
    assert rows[Kind.MATCHED][0].variant_id == variant.pk
    assert rows[Kind.META_ONLY][0].meta_retailer_id == "COAT-S"


@pytest.mark.django_db
def test_draft_products_are_not_reported_missing(imported, tenant, store):
    draft = ProductFactory(tenant=tenant, store=store, status=Product.Status.DRAFT)
    VariantFactory(product=draft)
    report = new_report(imported)
    assert Kind.MISSING_IN_META not in run_matcher(report)


@pytest.mark.django_db
def test_other_tenants_variants_never_match(imported, other_tenant):
    foreign = VariantFactory(product=ProductFactory(tenant=other_tenant))
    report = new_report(imported)
    meta_row(report, foreign.retailer_id, name="Foreign")
    rows = run_matcher(report)
    assert rows[Kind.META_ONLY][0].variant_id is None


@pytest.mark.django_db
def test_matching_query_count_does_not_grow_with_items(imported, product, store, django_assert_max_num_queries):
    variants = [VariantFactory(product=product, sku=f"S{n}") for n in range(30)]
    report = new_report(imported)
    for v in variants:
        meta_row(report, v.retailer_id, **graph_values(v, store))
    with django_assert_max_num_queries(30):
        run_matcher(report)
