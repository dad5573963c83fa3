"""Changelist and change-view query counts do not grow with the number of rows."""

import pytest
from django.contrib.admin import site
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import item_state
from catalog.models import Product, Variant
from catalog.tests.factories import ProductFactory, VariantFactory

# Pinned: a new query on these pages must be a deliberate choice (update the number then).
# Changelists are measured on a page out of several (their page query is two queries).
PRODUCT_CHANGELIST_QUERIES = 13
VARIANT_CHANGELIST_QUERIES = 11
PER_PAGE = 4
# +3 for the diagnostics item panel (variants, their issues, the catalog's blocking issues);
# +2 for the per-item timeline (one page of the product's events by keyset, its variants' titles).
PRODUCT_CHANGE_QUERIES = 15


@pytest.fixture(autouse=True)
def _cold_content_type_cache():
    """The content-type cache lives across tests; start each count from the same state."""
    ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch):
    """Several pages at both sizes, so both go through the paginator the same way."""
    for model in (Product, Variant):
        monkeypatch.setattr(site._registry[model], "list_per_page", PER_PAGE)


def make_products(tenant, store, catalog, count: int, variants_each: int = 3) -> None:
    for _ in range(count):
        product = ProductFactory(tenant=tenant, store=store)
        VariantFactory.create_batch(variants_each, product=product, catalog=catalog)
    item_state.refresh_variants(Variant.objects.all())


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [6, 25])
def test_product_changelist_query_count_is_flat(staff_client, tenant, store, catalog, rows, django_assert_num_queries):
    make_products(tenant, store, catalog, rows)
    with django_assert_num_queries(PRODUCT_CHANGELIST_QUERIES):
        response = staff_client.get(reverse("admin:catalog_product_changelist"))
    assert len(response.context["cl"].result_list) == PER_PAGE


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [6, 25])
def test_variant_changelist_query_count_is_flat(staff_client, tenant, store, catalog, rows, django_assert_num_queries):
    make_products(tenant, store, catalog, rows)
    with django_assert_num_queries(VARIANT_CHANGELIST_QUERIES):
        response = staff_client.get(reverse("admin:catalog_variant_changelist"))
    assert len(response.context["cl"].result_list) == PER_PAGE


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
@pytest.mark.parametrize("rows", [6, 25])
def test_superuser_product_changelist_query_count_is_flat(
    admin_client, tenant, store, catalog, rows, django_assert_max_num_queries
):
    make_products(tenant, store, catalog, rows)
    with django_assert_max_num_queries(PRODUCT_CHANGELIST_QUERIES):
        admin_client.get(reverse("admin:catalog_product_changelist"))


def main_select(queries, table: str) -> str:
    """The changelist's page query: the ordered SELECT of ``table``'s rows."""
    return next(q["sql"] for q in queries if q["sql"].startswith(f'SELECT "{table}"."id"') and "ORDER BY" in q["sql"])


@pytest.mark.django_db
def test_search_across_variants_adds_no_distinct(staff_client, tenant, store, catalog):
    make_products(tenant, store, catalog, 2)
    sku = Variant.objects.first().sku
    with CaptureQueriesContext(connection) as ctx:
        response = staff_client.get(reverse("admin:catalog_product_changelist"), {"q": sku})
    assert len(response.context["cl"].result_list) == 1
    assert not any("DISTINCT" in q["sql"] and '"catalog_variant"' in q["sql"] for q in ctx.captured_queries)
    assert not any('DISTINCT "catalog_product"."id"' in q["sql"] for q in ctx.captured_queries)


@pytest.mark.django_db
def test_one_tenant_staff_pages_filter_by_tenant_id_equality(staff_client, tenant, store, catalog):
    make_products(tenant, store, catalog, 2)
    with CaptureQueriesContext(connection) as ctx:
        staff_client.get(reverse("admin:catalog_variant_changelist"))
    sql = main_select(ctx.captured_queries, "catalog_variant")
    assert f'"catalog_variant"."tenant_id" = {tenant.pk}' in sql
    assert "catalog_membership" not in sql


@pytest.mark.django_db
def test_pages_keep_their_order_and_do_not_overlap(staff_client, tenant, store, catalog):
    make_products(tenant, store, catalog, 3)  # 9 variants: pages of 4, 4 and 1
    seen = []
    for page in (1, 2, 3):
        response = staff_client.get(reverse("admin:catalog_variant_changelist"), {"p": page})
        seen += [v.pk for v in response.context["cl"].result_list]
    assert seen == sorted(Variant.objects.values_list("pk", flat=True), reverse=True)


@pytest.mark.django_db
def test_page_query_reads_ids_alone_first(staff_client, tenant, store, catalog):
    make_products(tenant, store, catalog, 3)
    with CaptureQueriesContext(connection) as ctx:
        staff_client.get(reverse("admin:catalog_variant_changelist"))
    assert any(
        q["sql"].startswith('SELECT "catalog_variant"."id" AS "pk" FROM "catalog_variant" WHERE')
        and "LIMIT 4" in q["sql"]
        for q in ctx.captured_queries
    )
