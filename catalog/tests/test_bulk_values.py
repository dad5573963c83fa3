"""Statements about many rows named by their keys (catalog.bulk_values)."""

import pytest
from django.db import connection

from catalog.bulk_values import column_in, key_chunks, pk_in, update_by_pk
from catalog.models import Variant
from catalog.tests.factories import VariantFactory


@pytest.mark.django_db
def test_pk_in_selects_exactly_the_rows_named():
    variants = VariantFactory.create_batch(5)
    chosen = [variants[0].pk, variants[3].pk, 10**12]  # an id no row has is no error
    assert set(Variant.objects.filter(pk_in(Variant, chosen)).values_list("pk", flat=True)) == set(chosen[:2])
    assert not Variant.objects.filter(pk_in(Variant, [])).exists()


@pytest.mark.django_db
def test_pk_in_restricts_an_update_to_those_rows():
    variants = VariantFactory.create_batch(3, inventory_quantity=1)
    chosen = Variant.objects.filter(pk_in(Variant, [variants[1].pk]), inventory_quantity=1)
    updated = chosen.update(inventory_quantity=9)
    assert updated == 1
    assert [v.inventory_quantity for v in Variant.objects.order_by("pk")] == [1, 9, 1]


@pytest.mark.django_db
def test_update_by_pk_writes_each_rows_own_values():
    variants = VariantFactory.create_batch(3)
    update_by_pk(Variant, ["inventory_quantity", "sku"], [(variants[0].pk, 7, "A"), (variants[2].pk, 8, "B")])
    rows = list(Variant.objects.order_by("pk").values_list("inventory_quantity", "sku"))
    assert rows[0] == (7, "A") and rows[2] == (8, "B") and rows[1] == (5, variants[1].sku)


@pytest.mark.django_db
def test_column_in_selects_by_another_integer_column():
    variants = VariantFactory.create_batch(3)
    chosen = [variants[0].shopify_variant_id, variants[2].shopify_variant_id]
    found = Variant.objects.filter(column_in(Variant, "shopify_variant_id", chosen))
    assert set(found.values_list("pk", flat=True)) == {variants[0].pk, variants[2].pk}


@pytest.mark.django_db
def test_key_chunks_cover_every_value_once():
    values = list(range(2_000))
    chunks = list(key_chunks(values, 900))
    assert [v for chunk in chunks for v in chunk] == values
    # PostgreSQL takes them as one array parameter; SQLite in pieces under its parameter limit.
    assert len(chunks) == (1 if connection.vendor == "postgresql" else 3)
    assert list(key_chunks([], 900)) == []
