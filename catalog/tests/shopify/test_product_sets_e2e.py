"""Collections changed in the Shopify sandbox reach Meta's product sets (both sandboxes, real HTTP).

Shopify's webhooks are delivered to our receiver, processed as the cluster would, and the
product-set run writes to the Graph sandbox; the result is read back from the Graph API.
"""

from __future__ import annotations

import pytest

from catalog.meta.client import GraphClient
from catalog.models import Catalog, MetaConnection, ProductSet
from catalog.shopify.importer import import_store
from catalog.sync import product_sets, run

from .conftest import process_received

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced_shop(connected, live_server, settings):
    """A connected, imported sandbox shop whose catalog is a sandbox Meta catalog with its items in."""
    from sandbox.graph_accounts import create_sandbox_business

    settings.META_GRAPH_URL = live_server.url + "/sandbox/graph"
    settings.SANDBOX_BATCH_DELAY_SECONDS = 0
    settings.META_RETRY_BASE_DELAY = 0
    settings.SYNC_POLL_DELAYS = [0]
    c = connected(3)
    import_store(c.store)
    meta = create_sandbox_business(name="Collections")
    connection, _ = MetaConnection.objects.update_or_create(
        tenant=c.store.tenant,
        defaults={
            "business_id": meta["business_id"],
            "access_token": meta["access_token"],
            "token_last4": meta["access_token"][-4:],
            "token_status": MetaConnection.TokenStatus.VALID,
        },
    )
    Catalog.objects.filter(store=c.store).update(
        connection=connection, meta_catalog_id=meta["catalog_id"], sync_enabled=True
    )
    c.catalog = Catalog.objects.select_related("connection").get(store=c.store)
    run.sync_now(c.catalog, mode="batch", wait=True, timeout=60)
    return c


def sets_in_meta(catalog: Catalog) -> list[dict]:
    client = GraphClient(catalog.connection.access_token)
    fields = "id,name,product_count,latest_metadata"
    return list(client.paginate(f"{catalog.meta_catalog_id}/product_sets", fields=fields))


def sync(catalog: Catalog) -> product_sets.SetSyncReport:
    catalog.refresh_from_db()
    return product_sets.sync_product_sets(catalog)


def test_collections_created_renamed_emptied_and_deleted_in_shopify_follow_in_meta(synced_shop):
    from sandbox.shopify import changes
    from sandbox.shopify.models import Collection

    c = synced_shop
    products = list(c.shop.products.order_by("legacy_id")[:2])
    collection = changes.create_collection(
        c.shop, title="Gifts", products=products, description_html="<p>For <em>everyone</em></p>"
    )
    process_received()
    sync(c.catalog)
    [meta_set] = [s for s in sets_in_meta(c.catalog) if s["name"] == "Gifts"]
    expected = sum(p.variants.count() for p in products)
    assert meta_set["product_count"] == expected
    assert meta_set["latest_metadata"]["description"] == "For everyone"
    assert meta_set["latest_metadata"]["external_url"].endswith(f"/collections/{collection.handle}")

    changes.update_collection(collection, title="Gifts!")
    changes.update_collection(Collection.objects.get(pk=collection.pk), title="Holiday gifts")
    process_received()
    sync(c.catalog)
    names = [s["name"] for s in sets_in_meta(c.catalog)]
    assert "Holiday gifts" in names and "Gifts" not in names and "Gifts!" not in names

    changes.change_collection_products(Collection.objects.get(pk=collection.pk), remove=products)
    process_received()
    sync(c.catalog)
    [meta_set] = [s for s in sets_in_meta(c.catalog) if s["name"] == "Holiday gifts"]
    assert meta_set["product_count"] == 0

    changes.delete_collection(Collection.objects.get(pk=collection.pk))
    process_received()
    sync(c.catalog)
    assert "Holiday gifts" not in [s["name"] for s in sets_in_meta(c.catalog)]
    assert not ProductSet.objects.filter(shopify_collection_id=collection.legacy_id).exists()
