"""Fixtures of the Conversions API tests: a sandbox shop and a sandbox Meta pixel, over real HTTP."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from catalog.connection import catalogs
from catalog.models import Catalog, MetaConnection, Variant
from catalog.shopify.importer import import_store
from catalog.tests.shopify.conftest import (  # noqa: F401  (fixtures)
    Connected,
    connected,
    fast_sandbox,
    make_shop,
    process_received,
)


@dataclass
class Capi:
    """A connected shop whose products are imported, and a catalog with its pixel linked in the sandbox."""

    c: Connected
    catalog: Catalog
    meta: dict

    @property
    def shop(self):
        return self.c.shop

    def sandbox_variant(self, n: int = 0):
        """The n-th variant of an active product in the sandbox shop."""
        from sandbox.shopify.models import Variant as SandboxVariant

        return SandboxVariant.objects.filter(product__shop=self.shop, product__status="ACTIVE").order_by("pk")[n]

    def retailer_id(self, sandbox_variant) -> str:
        return Variant.objects.get(shopify_variant_id=sandbox_variant.legacy_id).retailer_id


@pytest.fixture
def graph(live_server, settings):
    """The sandbox Graph API over HTTP, without artificial delays."""
    settings.META_GRAPH_URL = live_server.url + "/sandbox/graph"
    settings.SANDBOX_BATCH_DELAY_SECONDS = 0
    settings.META_RETRY_BASE_DELAY = 0
    settings.META_THROTTLE_MAX_DELAY = 0
    settings.META_MAX_INLINE_WAIT = 1
    yield
    from sandbox import faults

    faults.reset()


@pytest.fixture
def capi(connected, graph, tenant) -> Capi:  # noqa: F811  (the imported fixture)
    from sandbox.graph_accounts import create_sandbox_business

    c = connected(2)
    import_store(c.store)
    meta = create_sandbox_business(name="Conversions API tests")
    catalog = Catalog.objects.select_related("connection").get(store=c.store)
    MetaConnection.objects.filter(pk=catalog.connection_id).update(
        business_id=meta["business_id"], access_token=meta["access_token"], token_last4=meta["access_token"][-4:]
    )
    Catalog.objects.filter(pk=catalog.pk).update(meta_catalog_id=meta["catalog_id"])
    catalog = Catalog.objects.select_related("connection").get(pk=catalog.pk)
    catalogs.connect_pixel(catalog, meta["pixel_id"])  # as the merchant does in Settings
    catalog.refresh_from_db()
    return Capi(c=c, catalog=catalog, meta=meta)
