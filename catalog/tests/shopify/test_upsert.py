"""Writing Shopify records into products and variants: idempotent, order-safe, bulk."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog import items
from catalog.models import Product, Variant
from catalog.shopify import records
from catalog.shopify.upsert import mark_products_removed, upsert_products

from .payloads import gql_product, gql_variant, rest_product, rest_variant

T0 = parse_datetime("2025-03-04T15:00:00Z")


def _record(product_id=7, variants=None, **kwargs):
    variants = variants if variants is not None else [gql_variant(44), gql_variant(45, options=(("Size", "L"),))]
    return records.product_from_graphql(gql_product(product_id, variants, **kwargs))


def _mark_all_synced():
    for variant in Variant.objects.all():
        Variant.objects.filter(pk=variant.pk).update(
            meta_status=Variant.SyncStatus.SYNCED, synced_hash=variant.payload_hash
        )


pytestmark = pytest.mark.django_db


def test_new_product_creates_pending_variants_with_stable_retailer_ids(store, catalog):
    result = upsert_products(store, [_record()], observed_at=T0)
    assert (result.products_created, result.variants_created) == (1, 2)
    variants = list(Variant.objects.order_by("shopify_variant_id"))
    assert [v.retailer_id for v in variants] == ["44", "45"]
    assert {v.meta_status for v in variants} == {Variant.SyncStatus.PENDING}
    assert {v.catalog_id for v in variants} == {catalog.pk}
    assert all(v.payload_hash for v in variants)


def test_reapplying_the_same_state_writes_nothing_and_marks_nothing_pending(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    _mark_all_synced()
    before = {v.pk: v.updated_at for v in Variant.objects.all()}
    product_before = Product.objects.get().updated_at
    result = upsert_products(store, [_record()], observed_at=T0 + timedelta(hours=1))
    assert (result.products_updated, result.variants_updated, result.variants_changed) == (0, 0, 0)
    assert {v.pk: v.updated_at for v in Variant.objects.all()} == before
    assert Product.objects.get().updated_at == product_before
    assert set(Variant.objects.values_list("meta_status", flat=True)) == {Variant.SyncStatus.SYNCED}


def test_webhook_shape_of_the_imported_state_changes_nothing(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    _mark_all_synced()
    rest = records.product_from_rest(
        rest_product(7, [rest_variant(44, 7), rest_variant(45, 7, size="L")], tags="cedar, candle")
    )
    result = upsert_products(store, [rest], observed_at=T0 + timedelta(minutes=1), remove_missing_variants=True)
    assert (result.products_updated, result.variants_updated, result.variants_removed) == (0, 0, 0)
    assert set(Variant.objects.values_list("meta_status", flat=True)) == {Variant.SyncStatus.SYNCED}


def test_a_price_change_marks_only_that_variant_pending(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    _mark_all_synced()
    newer = _record(
        variants=[
            gql_variant(44, price="30.00", updated_at="2025-03-05T00:00:00Z"),
            gql_variant(45, options=(("Size", "L"),)),
        ],
        updated_at="2025-03-05T00:00:00Z",
    )
    result = upsert_products(store, [newer], observed_at=T0 + timedelta(days=1))
    assert result.variants_updated == 1
    statuses = dict(Variant.objects.values_list("retailer_id", "meta_status"))
    assert statuses == {"44": Variant.SyncStatus.PENDING, "45": Variant.SyncStatus.SYNCED}
    assert Variant.objects.get(retailer_id="44").price == Decimal("30.00")


def test_an_older_update_never_overwrites_newer_data(store, catalog):
    newer = _record(title="New title", updated_at="2025-03-05T00:00:00Z")
    upsert_products(store, [newer], observed_at=T0)
    older = _record(
        title="Old title",
        updated_at="2025-03-04T00:00:00Z",
        variants=[gql_variant(44, price="1.00", updated_at="2025-03-04T00:00:00Z")],
    )
    result = upsert_products(store, [older], observed_at=T0, remove_missing_variants=True)
    assert result.products_stale == 1
    assert Product.objects.get().title == "New title"
    assert Variant.objects.get(retailer_id="44").price == Decimal("20.00")
    assert Variant.objects.filter(removed_at__isnull=False).count() == 0


def test_an_older_stock_reading_never_overwrites_a_newer_one(store, catalog):
    upsert_products(store, [_record(variants=[gql_variant(44, qty=5)])], observed_at=T0)
    upsert_products(store, [_record(variants=[gql_variant(44, qty=2)])], observed_at=T0 + timedelta(minutes=5))
    upsert_products(store, [_record(variants=[gql_variant(44, qty=9)])], observed_at=T0 + timedelta(minutes=1))
    assert Variant.objects.get().inventory_quantity == 2


def test_variants_missing_from_a_complete_payload_are_marked_removed(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    result = upsert_products(store, [_record(variants=[gql_variant(44)])], observed_at=T0, remove_missing_variants=True)
    assert result.variants_removed == 1
    gone = Variant.objects.get(retailer_id="45")
    assert gone.removed_at is not None
    assert items.meta_item(gone, gone.product, store)["visibility"] == "staging"


def test_a_deleted_product_stays_deleted_for_updates_older_than_the_delete(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    product = Product.objects.get()
    mark_products_removed(store, [product.pk], parse_datetime("2025-03-06T00:00:00Z"))
    late = _record(title="Late update", updated_at="2025-03-05T00:00:00Z")
    result = upsert_products(store, [late], observed_at=T0)
    assert result.products_stale == 1
    product.refresh_from_db()
    assert product.removed_at is not None and product.title == "Cedar Candle"


def test_removed_products_go_to_staging_and_pending(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    _mark_all_synced()
    mark_products_removed(store, list(Product.objects.values_list("pk", flat=True)), timezone.now())
    assert set(Variant.objects.values_list("meta_status", flat=True)) == {Variant.SyncStatus.PENDING}
    assert Variant.objects.filter(removed_at__isnull=True).count() == 0


@pytest.mark.parametrize("price", ["0.00", "-4.00", "not a price"])
def test_bad_prices_fail_locally_instead_of_raising(store, catalog, price):
    upsert_products(store, [_record(variants=[gql_variant(44, price=price)])], observed_at=T0)
    variant = Variant.objects.get()
    assert variant.meta_status == Variant.SyncStatus.FAILED
    assert "ITEM_PRICE_NOT_POSITIVE" in variant.last_error_code


def test_a_product_without_images_fails_with_a_fix(store, catalog):
    upsert_products(store, [_record(images=())], observed_at=T0)
    variant = Variant.objects.first()
    assert variant.meta_status == Variant.SyncStatus.FAILED
    assert variant.failure_source == Variant.FailureSource.LOCAL
    assert "no image" in variant.last_error
    assert "Add at least one image" in variant.last_error_fix


def test_duplicate_and_missing_skus_never_collide(store, catalog):
    variants = [gql_variant(44, sku="SAME"), gql_variant(45, sku="SAME"), gql_variant(46, sku=None)]
    upsert_products(store, [_record(variants=variants)], observed_at=T0)
    assert sorted(Variant.objects.values_list("retailer_id", flat=True)) == ["44", "45", "46"]


def test_two_thousand_variants_are_written_in_bulk(store, catalog, django_assert_max_num_queries):
    variants = [gql_variant(100_000 + n, options=(("Size", str(n)),)) for n in range(2048)]
    # Bulk, not per row: SQLite caps a statement at 999 parameters (~33 variant rows per
    # INSERT, twice: rows then refreshed hashes), PostgreSQL 500; far below 2,048 queries.
    with django_assert_max_num_queries(300):
        result = upsert_products(store, [_record(variants=variants)], observed_at=T0)
    assert result.variants_created == 2048
    assert Variant.objects.filter(meta_status=Variant.SyncStatus.PENDING).count() == 2048


def test_variants_join_the_catalog_created_after_the_import(store):
    from catalog.tests.factories import CatalogFactory

    upsert_products(store, [_record()], observed_at=T0)
    assert set(Variant.objects.values_list("catalog_id", flat=True)) == {None}
    store.refresh_from_db()
    catalog = CatalogFactory(tenant=store.tenant, store=store)
    store.refresh_from_db()
    upsert_products(store, [_record()], observed_at=T0)
    assert set(Variant.objects.values_list("catalog_id", flat=True)) == {catalog.pk}


def test_same_second_versions_are_ordered_by_when_they_were_observed(store, catalog):
    later = _record(title="Second edit")
    earlier = _record(title="First edit")  # same updated_at (Shopify counts whole seconds)
    upsert_products(store, [later], observed_at=T0 + timedelta(milliseconds=900))
    result = upsert_products(store, [earlier], observed_at=T0 + timedelta(milliseconds=100))
    assert result.products_stale == 1
    assert Product.objects.get().title == "Second edit"


def test_a_new_products_variant_stored_meanwhile_is_overwritten_not_duplicated(store, catalog):
    """Variants of a product created by the call are not looked up: the insert's conflict clause takes over."""
    upsert_products(store, [_record(product_id=7)], observed_at=T0)
    # Variant 44 is stored (under another product) while product 7 is not: the state a
    # concurrent writer leaves between this call's product lookup and its variant insert.
    Product.objects.filter(shopify_product_id=7).update(shopify_product_id=9)
    result = upsert_products(
        store, [_record(product_id=7, variants=[gql_variant(44, price="19.00")])], observed_at=T0 + timedelta(hours=1)
    )
    assert result.products_created == 1
    variant = Variant.objects.get(shopify_variant_id=44)
    assert variant.product.shopify_product_id == 7
    assert variant.price == Decimal("19.00")
    assert variant.catalog_id == catalog.pk
    expected = items.payload_hash(items.meta_item(variant, variant.product, store))
    assert (variant.payload_hash, variant.meta_status) == (expected, Variant.SyncStatus.PENDING)
    assert Variant.objects.filter(shopify_variant_id=44).count() == 1
