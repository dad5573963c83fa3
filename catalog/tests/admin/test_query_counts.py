"""Changelist and change-view query counts do not grow with the number of rows."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from catalog import items
from catalog.models import Variant
from catalog.tests.factories import ProductFactory, VariantFactory

# Pinned: a new query on these pages must be a deliberate choice (update the number then).
PRODUCT_CHANGELIST_QUERIES = 11
VARIANT_CHANGELIST_QUERIES = 10
# +3 for the diagnostics item panel (variants, their issues, the catalog's blocking issues).
PRODUCT_CHANGE_QUERIES = 12


@pytest.fixture(autouse=True)
def _cold_content_type_cache():
    """The content-type cache lives across tests; start each count from the same state."""
    ContentType.objects.clear_cache()


def make_products(tenant, store, catalog, count: int, variants_each: int = 3) -> None:
    for _ in range(count):
        product = ProductFactory(tenant=tenant, store=store)
        VariantFactory.create_batch(variants_each, product=product, catalog=catalog)
    items.refresh_variants(Variant.objects.all())


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [2, 25])
def test_product_changelist_query_count_is_flat(staff_client, tenant, store, catalog, rows, django_assert_num_queries):
    make_products(tenant, store, catalog, rows)
    with django_assert_num_queries(PRODUCT_CHANGELIST_QUERIES):
        response = staff_client.get(reverse("admin:catalog_product_changelist"))
    assert len(response.context["cl"].result_list) == rows


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [2, 25])
def test_variant_changelist_query_count_is_flat(staff_client, tenant, store, catalog, rows, django_assert_num_queries):
    make_products(tenant, store, catalog, rows)
    with django_assert_num_queries(VARIANT_CHANGELIST_QUERIES):
        response = staff_client.get(reverse("admin:catalog_variant_changelist"))
    assert len(response.context["cl"].result_list) == min(rows * 3, 50)


@pytest.mark.django_db
@pytest.mark.parametrize("variants", [1, 20])
def test_product_change_view_query_count_is_flat(
    staff_client, tenant, store, catalog, variants, django_assert_num_queries
):
    product = ProductFactory(tenant=tenant, store=store)
    VariantFactory.create_batch(variants, product=product, catalog=catalog)
    with django_assert_num_queries(PRODUCT_CHANGE_QUERIES):
        staff_client.get(reverse("admin:catalog_product_change", args=[product.pk]))


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [2, 25])
def test_superuser_product_changelist_query_count_is_flat(
    admin_client, tenant, store, catalog, rows, django_assert_max_num_queries
):
    make_products(tenant, store, catalog, rows)
    with django_assert_max_num_queries(PRODUCT_CHANGELIST_QUERIES):
        admin_client.get(reverse("admin:catalog_product_changelist"))
