"""Fixtures for end-to-end tests against the Shopify sandbox over real HTTP (live_server)."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import ShopifyStore, WebhookEvent
from catalog.shopify import webhooks
from catalog.tests.factories import CatalogFactory


@dataclass
class Connected:
    """A sandbox shop connected to tenant A through ``connect_shopify``, with a catalog."""

    shop: object  # sandbox.shopify.models.Shop
    credentials: dict
    store: ShopifyStore
    base_url: str


@pytest.fixture
def fast_sandbox(settings, tmp_path):
    """No artificial delays in the sandbox or the client; bulk results in a temp dir."""
    settings.SANDBOX_SHOPIFY_BULK_DELAY_SECONDS = 0
    settings.SANDBOX_SHOPIFY_WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.SANDBOX_SHOPIFY_WEBHOOK_TIMEOUT = 5
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SHOPIFY_BULK_POLL_SECONDS = 0.02
    settings.SHOPIFY_BACKOFF_SECONDS = 0.01


@pytest.fixture
def make_shop(live_server, settings, fast_sandbox):
    """Create a sandbox shop with generated products; returns (Shop, credentials)."""
    from sandbox.shopify import generator, loading
    from sandbox.shopify.accounts import create_sandbox_shop
    from sandbox.shopify.models import Shop

    settings.SITE_URL = live_server.url

    def make(
        products: int = 6,
        *,
        big_product_every: int = 0,
        big_product_variants: int = 45,
        restore_rate: float = 100_000.0,
    ):
        credentials = create_sandbox_shop(products=0 if big_product_every else products)
        shop = Shop.objects.get(domain=credentials["shop_domain"])
        if big_product_every:
            loading.load_products(
                shop,
                generator.generate_products(
                    products,
                    seed=7,
                    id_base=shop.id_base,
                    start_serial=shop.next_serial,
                    big_product_every=big_product_every,
                    big_product_variants=big_product_variants,
                ),
            )
        Shop.objects.filter(pk=shop.pk).update(restore_rate=restore_rate)
        shop.refresh_from_db()
        return shop, credentials

    return make


def connect(tenant, credentials: dict, tmp_path, **extra) -> str:
    token = tmp_path / "token"
    secret = tmp_path / "secret"
    token.write_text(credentials["access_token"] + "\n")
    secret.write_text(credentials["webhook_secret"] + "\n")
    out = StringIO()
    call_command(
        "connect_shopify",
        tenant=tenant.slug,
        shop=credentials["shop_domain"],
        token_file=str(token),
        webhook_secret_file=str(secret),
        admin_url=credentials["admin_url"],
        stdout=out,
        **extra,
    )
    return out.getvalue()


@pytest.fixture
def connected(make_shop, tenant, tmp_path, live_server):
    def make(products: int = 6, **kwargs) -> Connected:
        shop, credentials = make_shop(products, **kwargs)
        connect(tenant, credentials, tmp_path)
        store = ShopifyStore.objects.get(shop_domain=credentials["shop_domain"])
        CatalogFactory(tenant=tenant, store=store, name="Sandbox catalog")
        store.refresh_from_db()
        return Connected(shop=shop, credentials=credentials, store=store, base_url=live_server.url)

    return make


def process_received() -> list[str]:
    """Run the processing task of every stored, unprocessed event (as the Q2 cluster would)."""
    states = []
    for pk in (
        WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED).order_by("pk").values_list("pk", flat=True)
    ):
        states.append(webhooks.process_event(pk))
    return states
