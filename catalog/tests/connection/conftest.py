"""Fixtures for the connection tests that talk to the Graph API sandbox over real HTTP."""

from __future__ import annotations

import pytest
from django.test import Client

from catalog import item_state, items, tenants
from catalog.meta.client import GraphClient
from catalog.models import Membership, Product, ShopifyStore, Variant
from catalog.tests.factories import ProductFactory, ShopifyStoreFactory, TenantFactory, UserFactory, VariantFactory
from sandbox.graph_accounts import create_sandbox_business


@pytest.fixture(autouse=True)
def _no_meta_by_accident(settings):
    """Unit tests never reach a Graph API: a refused port, no retries (the ``meta`` fixture opens one)."""
    settings.META_GRAPH_URL = "http://127.0.0.1:9/graph"
    settings.META_MAX_RETRIES = 0


@pytest.fixture
def meta(live_server, settings):
    """A fresh sandbox business (catalog, pixel, token), served by ``live_server``."""

    settings.SITE_URL = live_server.url
    settings.META_GRAPH_URL = f"{live_server.url}/sandbox/graph"
    settings.SANDBOX_BATCH_DELAY_SECONDS = 0
    settings.META_MAX_RETRIES = 0
    settings.META_RETRY_BASE_DELAY = 0
    return create_sandbox_business(name="Acme Business")


@pytest.fixture
def shop(db):
    """Tenant "acme" with an owner, a store and a few products (one with three sizes)."""
    tenant = TenantFactory(slug="acme", name="Acme")
    owner = UserFactory(username="acme-owner", is_staff=False)
    tenants.add_member(tenant, owner, role=Membership.Role.OWNER)
    store = ShopifyStoreFactory(tenant=tenant, shop_domain="acme.myshopify.com", name="Acme")
    coat = ProductFactory(tenant=tenant, store=store, title="Winter Coat", handle="winter-coat")
    for size in ("S", "M", "L"):
        VariantFactory(product=coat, title=size, options={"Size": size}, sku=f"COAT-{size}")
    tee = ProductFactory(tenant=tenant, store=store, title="Trail Tee", handle="trail-tee")
    for color in ("Red", "Blue"):
        VariantFactory(product=tee, title=color, options={"Color": color}, sku=f"TEE-{color}")
    hat = ProductFactory(tenant=tenant, store=store, title="Wool Hat", handle="wool-hat")
    VariantFactory(product=hat, title="Default Title", sku="HAT")
    item_state.refresh_variants(Variant.objects.for_tenant(tenant))
    return {"tenant": tenant, "owner": owner, "store": store, "coat": coat, "tee": tee, "hat": hat}


@pytest.fixture
def owner_client(shop) -> Client:
    client = Client()
    client.force_login(shop["owner"])
    return client


def variant(shop, product_key: str, title: str) -> Variant:
    return Variant.objects.get(product=shop[product_key], title=title)


def item_for(v: Variant, store: ShopifyStore, **overrides) -> dict:
    """Our items_batch payload for ``v`` (what Meta holds when it is identical), with overrides."""
    data = items.meta_item(v, v.product, store)
    data.update(overrides)
    return {k: val for k, val in data.items() if val is not None}


def seed_catalog(meta: dict, catalog_id: str, records: list[dict]) -> None:
    """Put items into a sandbox catalog as another tool would (items_batch with the sandbox's token)."""
    client = GraphClient(meta["access_token"])
    response = client.post(
        f"{catalog_id}/items_batch",
        {
            "item_type": "PRODUCT_ITEM",
            "requests": [{"method": "UPDATE", "data": record} for record in records],
        },
    )
    handle = response["handles"][0]
    status = client.get(f"{catalog_id}/check_batch_request_status", handle=handle)["data"][0]
    assert status["status"] == "finished" and not status["errors"], status


def meta_items(
    meta: dict, catalog_id: str, token: str = "", fields: str = "id,retailer_id,name,price,availability"
) -> dict[str, dict]:
    """What the sandbox catalog holds now, by retailer id."""
    client = GraphClient(token or meta["access_token"])
    return {node["retailer_id"]: node for node in client.paginate(f"{catalog_id}/products", fields=fields)}


def legacy_item(retailer_id: str, title: str, **overrides) -> dict:
    """A complete item as an older tool (or an ads feed) would have sent it."""
    data = {
        "id": retailer_id,
        "title": title,
        "description": f"{title} from the old feed.",
        "availability": "in stock",
        "condition": "new",
        "price": "25.00 USD",
        "link": f"https://old.example.com/{retailer_id}",
        "image_link": f"https://old.example.com/{retailer_id}.jpg",
        "brand": "Acme",
    }
    data.update(overrides)
    return data


__all__ = ["Product", "item_for", "legacy_item", "meta_items", "seed_catalog", "variant"]
