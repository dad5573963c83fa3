"""The batch page's errors from Meta name our products and variants, with links (issue 18).

Each row names the product and the variant (title, SKU), links their admin pages and keeps
Meta's id for reference; the variants of the whole table are read in one query; only the
batch's own tenant is looked in. Over HTTP: a real push and a real feed upload to the sandbox.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog import item_state
from catalog.models import SyncBatch, Variant
from catalog.tests.factories import (
    CatalogFactory,
    MetaConnectionFactory,
    ProductFactory,
    ShopifyStoreFactory,
    SyncBatchFactory,
    VariantFactory,
)
from catalog.tests.test_sync_e2e import meta, push_and_confirm  # noqa: F401 (fixture)


def _page(client, batch: SyncBatch) -> str:
    response = client.get(reverse("admin:catalog_syncbatch_change", args=[batch.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _errors(page: str) -> str:
    return page.split('<table class="batch-errors">', 1)[1].split("</table>", 1)[0]


def _links(variant: Variant) -> tuple[str, str]:
    return (
        reverse("admin:catalog_variant_change", args=[variant.pk]),
        reverse("admin:catalog_product_change", args=[variant.product_id]),
    )


# -- what a row says --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_api_error_names_the_product_and_variant_with_links_and_keeps_the_retailer_id(staff_client, catalog):
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store, title="Linen Shirt")
    variant = VariantFactory(product=product, catalog=catalog, title="Blue / M", sku="LIN-BLU-M")
    batch = SyncBatchFactory(
        catalog=catalog, error_count=1, errors=[{"line": 3, "id": variant.retailer_id, "message": "Bad image"}]
    )
    table = _errors(_page(staff_client, batch))
    for text in ("Linen Shirt", "Blue / M", "SKU LIN-BLU-M", "Bad image", variant.retailer_id, *_links(variant)):
        assert text in table


@pytest.mark.django_db
def test_a_feed_error_links_the_variants_of_its_samples_and_keeps_metas_error_id(staff_client, catalog):
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store, title="Canvas Tote")
    first, second = VariantFactory.create_batch(2, product=product, catalog=catalog)
    batch = SyncBatchFactory(
        catalog=catalog,
        kind=SyncBatch.Kind.REPLACE_FEED,
        errors=[
            {
                "id": "778899001122",  # Meta's id of the error, not of an item
                "summary": "Invalid image",
                "retailer_ids": [first.retailer_id, second.retailer_id],
            }
        ],
    )
    table = _errors(_page(staff_client, batch))
    assert "778899001122" in table and "Invalid image" in table and "Canvas Tote" in table
    assert all(link in table for link in (*_links(first), *_links(second)))


@pytest.mark.django_db
def test_an_id_that_is_no_variant_of_the_catalog_is_shown_as_it_is(staff_client, catalog):
    batch = SyncBatchFactory(catalog=catalog, errors=[{"line": 1, "id": "gone-123", "message": "Bad price"}])
    assert "gone-123 (not in this catalog)" in _errors(_page(staff_client, batch))


# -- one query for the table ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 30])
def test_the_batch_page_query_count_does_not_grow_with_its_errors(
    staff_client, catalog, rows, django_assert_num_queries
):
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    variants = VariantFactory.create_batch(rows, product=product, catalog=catalog)
    batch = SyncBatchFactory(
        catalog=catalog,
        error_count=rows,
        errors=[{"line": n + 1, "id": v.retailer_id, "message": "Bad image"} for n, v in enumerate(variants)],
    )
    url = reverse("admin:catalog_syncbatch_change", args=[batch.pk])
    staff_client.get(url)  # warm the session and content-type caches
    with django_assert_num_queries(BATCH_PAGE_QUERIES):
        page = staff_client.get(url).content.decode()
    assert _errors(page).count(reverse("admin:catalog_variant_changelist")) == rows


# Session, user, memberships (the role), the batch, the user's and groups' permissions, its
# catalog, the affected products, the errors' variants with their products (one query, whatever
# the number of rows), the tenant.
BATCH_PAGE_QUERIES = 10


# -- tenant isolation -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_tenants_variant_with_the_same_retailer_id_is_never_named_or_linked(
    staff_client_of_tenant_a, catalog, other_tenant
):
    theirs = VariantFactory(product=ProductFactory(tenant=other_tenant, title="Not yours"), sku="THEIR-SKU")
    batch = SyncBatchFactory(catalog=catalog, errors=[{"line": 1, "id": theirs.retailer_id, "message": "Bad"}])
    page = _page(staff_client_of_tenant_a, batch)
    assert "Not yours" not in page and "THEIR-SKU" not in page
    assert not any(link in page for link in _links(theirs))
    assert f"{theirs.retailer_id} (not in this catalog)" in _errors(page)


# -- over HTTP: what the sandbox rejected -------------------------------------------------------------


@pytest.fixture
def sandbox_catalog(meta, tenant):  # noqa: F811
    """Tenant A's catalog in a sandbox business served over real HTTP (staff_client is tenant A's)."""
    connection = MetaConnectionFactory(
        tenant=tenant,
        business_id=meta["business_id"],
        access_token=meta["access_token"],
        token_last4=meta["access_token"][-4:],
    )
    return CatalogFactory(
        tenant=tenant,
        store=ShopifyStoreFactory(tenant=tenant),
        connection=connection,
        meta_catalog_id=meta["catalog_id"],
    )


def _fine_and_refused(catalog, *, image: str) -> tuple[Variant, Variant]:
    """Two variants that pass our checks; Meta refuses the second (an image host without a domain name)."""
    fine = VariantFactory(product=ProductFactory(tenant=catalog.tenant, store=catalog.store), catalog=catalog)
    product = ProductFactory(
        tenant=catalog.tenant, store=catalog.store, title="Intranet Mug", images=[{"id": 1, "src": image}]
    )
    refused = VariantFactory(product=product, catalog=catalog, image_url=image, title="Tall", sku="MUG-T")
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    return fine, refused


@pytest.mark.django_db(transaction=True)
def test_a_line_the_batch_api_refused_links_its_variant_on_the_batch_page(staff_client, sandbox_catalog):
    fine, refused = _fine_and_refused(sandbox_catalog, image="http://intranet/mug.png")
    push_and_confirm(sandbox_catalog)
    batch = SyncBatch.objects.get(catalog=sandbox_catalog, kind=SyncBatch.Kind.ITEMS_BATCH)
    table = _errors(_page(staff_client, batch))
    assert "Intranet Mug" in table and "SKU MUG-T" in table and all(link in table for link in _links(refused))
    assert reverse("admin:catalog_variant_change", args=[fine.pk]) not in table


@pytest.mark.django_db(transaction=True)
def test_a_feed_row_the_upload_refused_links_its_variant_on_the_batch_page(staff_client, sandbox_catalog):
    from catalog.sync import run

    fine, refused = _fine_and_refused(sandbox_catalog, image="http://intranet/mug.png")
    run.sync_now(sandbox_catalog, mode="replace_feed", wait=True, timeout=60)
    batch = SyncBatch.objects.get(catalog=sandbox_catalog, kind=SyncBatch.Kind.REPLACE_FEED)
    assert [e["retailer_ids"] for e in batch.errors if e.get("retailer_ids")] == [[refused.retailer_id]]
    table = _errors(_page(staff_client, batch))
    assert "Intranet Mug" in table and all(link in table for link in _links(refused))
    assert reverse("admin:catalog_variant_change", args=[fine.pk]) not in table
