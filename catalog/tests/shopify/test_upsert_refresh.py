"""The upsert refreshes the variants it writes in memory: state written with the data, exactly as a read-back would."""

from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import item_state
from catalog.models import Product, Variant, VariantEvent
from catalog.shopify import records
from catalog.shopify.upsert import upsert_products

from .payloads import gql_product, gql_variant

pytestmark = pytest.mark.django_db

T0 = parse_datetime("2025-03-04T15:00:00Z")
Status = Variant.SyncStatus


def _record(variants=(44, 45), *, updated_at="2025-03-04T15:00:00Z", price="20.00", position=None, **kwargs):
    return records.product_from_graphql(
        gql_product(
            7,
            [
                gql_variant(vid, price=price, updated_at=updated_at, options=(("Size", str(vid)),))
                | ({"position": position} if position is not None else {})
                for vid in variants
            ],
            updated_at=updated_at,
            **kwargs,
        )
    )


def _synced_and_live():
    for variant in Variant.objects.all():
        Variant.objects.filter(pk=variant.pk).update(
            meta_status=Status.SYNCED, synced_hash=variant.payload_hash, verdict=Variant.Verdict.LIVE
        )


def _nothing_left_stale():
    """A refresh from the database finds nothing to change: the upsert wrote the current state."""
    return item_state.refresh_variants(Variant.objects.all()) == 0


def test_a_product_change_refreshes_its_unchanged_variants(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    _synced_and_live()
    later = "2025-03-05T15:00:00Z"
    result = upsert_products(
        store, [_record(title="Cedar Candle XL", updated_at=later)], observed_at=T0 + timedelta(days=1)
    )
    assert result.variants_changed == 2
    assert set(Variant.objects.values_list("meta_status", "verdict")) == {(Status.PENDING, Variant.Verdict.NONE)}
    assert _nothing_left_stale()
    changed = VariantEvent.objects.filter(kind=VariantEvent.Kind.CHANGED)
    assert sorted(changed.values_list("variant_id", flat=True)) == sorted(Variant.objects.values_list("pk", flat=True))


def test_a_change_outside_the_item_writes_the_data_and_keeps_the_state(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    _synced_and_live()
    result = upsert_products(
        store, [_record(updated_at="2025-03-05T15:00:00Z", position=9)], observed_at=T0 + timedelta(days=1)
    )
    assert result.variants_updated == 2 and result.variants_changed == 0
    assert set(Variant.objects.values_list("position", "meta_status", "verdict")) == {
        (9, Status.SYNCED, Variant.Verdict.LIVE)
    }
    assert not VariantEvent.objects.filter(kind=VariantEvent.Kind.CHANGED).exists()


def test_a_price_back_to_what_meta_holds_is_synced_again(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    _synced_and_live()
    upsert_products(store, [_record(price="30.00", updated_at="2025-03-05T15:00:00Z")], observed_at=T0)
    assert set(Variant.objects.values_list("meta_status", flat=True)) == {Status.PENDING}
    upsert_products(store, [_record(price="20.00", updated_at="2025-03-06T15:00:00Z")], observed_at=T0)
    assert set(Variant.objects.values_list("meta_status", flat=True)) == {Status.SYNCED}
    assert _nothing_left_stale()


def test_variants_a_record_does_not_list_are_refreshed_with_their_product(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    _synced_and_live()
    partial = _record(variants=(44,), title="Cedar Candle XL", updated_at="2025-03-05T15:00:00Z")
    result = upsert_products(store, [partial], observed_at=T0 + timedelta(days=1))
    assert result.variants_changed == 2
    assert set(Variant.objects.values_list("meta_status", flat=True)) == {Status.PENDING}
    assert _nothing_left_stale()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["Cedar Candle", "Cedar Candle XL", ""]),
            st.sampled_from(["20.00", "30.00", "-1"]),
            st.sampled_from([(44, 45), (44,), (45, 46)]),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_sequence_of_upserts_leaves_every_state_current(store, catalog, steps):
    """Whatever changes (product, price, invalid values, variants listed or not), nothing is left stale."""
    Variant.objects.all().delete()
    for day, (title, price, variants, complete) in enumerate(steps, start=10):
        stamp = f"2025-03-{day:02d}T15:00:00Z"
        record = _record(variants=variants, title=title, price=price, updated_at=stamp)
        upsert_products(store, [record], observed_at=T0 + timedelta(days=day), remove_missing_variants=complete)
        assert _nothing_left_stale()
        if day % 2:
            _synced_and_live()


@pytest.mark.parametrize("changed", [True, False], ids=["product changed", "product unchanged"])
def test_staff_fields_of_the_product_stay_in_the_items_refreshed_in_memory(store, catalog, changed):
    upsert_products(store, [_record()], observed_at=T0)
    Product.objects.update(google_product_category="Home & Garden > Decor > Candles", custom_label_0="summer")
    assert item_state.refresh_variants(Variant.objects.all()) == 2
    _synced_and_live()
    title = "Cedar Candle XL" if changed else "Cedar Candle"
    upsert_products(store, [_record(title=title, price="30.00", updated_at="2025-03-05T15:00:00Z")], observed_at=T0)
    assert set(Variant.objects.values_list("meta_status", flat=True)) == {Status.PENDING}
    assert _nothing_left_stale()


def test_a_product_staff_excluded_stays_excluded_through_a_webhook_change(store, catalog):
    upsert_products(store, [_record()], observed_at=T0)
    Product.objects.update(excluded_from_meta=True)
    item_state.refresh_variants(Variant.objects.all())
    upsert_products(store, [_record(title="Cedar Candle XL", updated_at="2025-03-05T15:00:00Z")], observed_at=T0)
    assert set(Variant.objects.values_list("excluded", flat=True)) == {True}
    assert _nothing_left_stale()
