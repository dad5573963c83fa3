"""Query counts of the bulk paths, pinned at two sizes: the count does not grow with the rows.

Variant refresh (``item_state.refresh_variants``), import apply (``upsert.upsert_products``)
and marking products removed (``upsert.mark_products_removed``) each take the same number of
queries for 5 rows as for 50 (all within one chunk: ``REFRESH_BATCH``, ``LOOKUP_CHUNK``).
A per-row query slipping in makes the larger size fail. The import is pinned on PostgreSQL,
the production database (on SQLite ``bulk_create`` splits its rows by the variable limit).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog import item_state
from catalog.models import Product, Variant
from catalog.shopify import records
from catalog.shopify.upsert import mark_products_removed, upsert_products
from catalog.tests.shopify.payloads import gql_product, gql_variant

pytestmark = pytest.mark.django_db

T0 = parse_datetime("2025-03-04T15:00:00Z")
SIZES = [5, 50]
# Read in one iterator with product and store joined, the hashes in one bulk_update, the
# status and errors in one UPDATE per distinct value, the timeline's events, inside a
# savepoint. On PostgreSQL the events go by COPY, which Django's query log does not list.
REFRESH_QUERIES = 5 if connection.vendor == "postgresql" else 6
# The store's lock; per table (products, variants) a lookup of existing rows and a copy
# upsert (temp table, INSERT ... ON CONFLICT, drop), the variants' with their new state
# (refreshed in memory: no read-back); the catalog assignment;
# the timeline's INSERT ... SELECT (the refresh events go by COPY, not in the query log);
# the pks of the changed products' variants (none left to refresh), inside a savepoint.
UPSERT_QUERIES = 15
# The store's lock, the products' and variants' UPDATEs, the refresh of the removed
# variants and their timeline events, in one transaction per chunk (PostgreSQL: the
# refresh events by COPY, which the query log does not list).
REMOVE_QUERIES = 10 if connection.vendor == "postgresql" else 11


def _records(n: int, *, title: str = "Cedar Candle", price: str = "19.00", updated_at: str = "2025-03-04T15:00:00Z"):
    """``n`` products of one variant each (Shopify ids 1000.., variant ids 5000..)."""
    return [
        records.product_from_graphql(
            gql_product(1000 + i, [gql_variant(5000 + i, price=price)], title=title, updated_at=updated_at)
        )
        for i in range(n)
    ]


def _mark_all_synced():
    for variant in Variant.objects.all():
        Variant.objects.filter(pk=variant.pk).update(
            meta_status=Variant.SyncStatus.SYNCED, synced_hash=variant.payload_hash
        )


@pytest.mark.parametrize("size", SIZES)
def test_refreshing_variants_takes_a_constant_number_of_queries(django_assert_num_queries, store, catalog, size):
    upsert_products(store, _records(size), observed_at=T0)
    Variant.objects.update(price="25.00")  # every payload changes
    with django_assert_num_queries(REFRESH_QUERIES):
        assert item_state.refresh_variants(Variant.objects.all()) == size


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's bulk_create splits rows by its 999-variable limit, so its count grows by design",
)
@pytest.mark.parametrize("size", SIZES)
def test_applying_an_import_takes_a_constant_number_of_queries(django_assert_num_queries, store, catalog, size):
    upsert_products(store, _records(size), observed_at=T0)
    changed = _records(size, title="Cedar Candle, new", price="21.00", updated_at="2025-03-05T15:00:00Z")
    with django_assert_num_queries(UPSERT_QUERIES):
        result = upsert_products(store, changed, observed_at=T0 + timedelta(days=1))
    assert result.products_updated == size


@pytest.mark.parametrize("size", SIZES)
def test_marking_products_removed_takes_a_constant_number_of_queries(django_assert_num_queries, store, catalog, size):
    upsert_products(store, _records(size), observed_at=T0)
    _mark_all_synced()
    pks = list(Product.objects.values_list("pk", flat=True))
    with django_assert_num_queries(REMOVE_QUERIES):
        assert mark_products_removed(store, pks, timezone.now()) == (size, size)
