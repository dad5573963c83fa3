"""Fixtures for the Shopify sandbox tests: a live shop reachable over real HTTP."""

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from sandbox.shopify.accounts import create_sandbox_shop
from sandbox.shopify.models import Shop

API_VERSION = "2025-10"


@pytest.fixture(autouse=True)
def _fast_sandbox(settings, tmp_path):
    """No processing delays, bulk results in a temp dir, SITE_URL irrelevant unless a test sets it."""
    settings.SANDBOX_SHOPIFY_BULK_DELAY_SECONDS = 0
    settings.SANDBOX_SHOPIFY_WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.SANDBOX_SHOPIFY_WEBHOOK_TIMEOUT = 5
    settings.MEDIA_ROOT = tmp_path / "media"


@dataclass
class LiveShop:
    """A sandbox shop plus a tiny GraphQL client talking to it over HTTP."""

    shop: Shop
    credentials: dict[str, Any]
    base_url: str

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/sandbox/shopify/{self.shop.domain}/admin/api/{API_VERSION}/graphql.json"

    def post(self, query: str, variables: dict | None = None, **kwargs: Any) -> requests.Response:
        headers = {"X-Shopify-Access-Token": self.credentials["access_token"], **kwargs.pop("headers", {})}
        return requests.post(
            self.endpoint, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30, **kwargs
        )

    def gql(self, query: str, variables: dict | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def make_live_shop(live_server, settings):
    settings.SITE_URL = live_server.url

    def make(products: int = 12, *, restore_rate: float = 100_000.0, **kwargs: Any) -> LiveShop:
        """A shop whose bucket refills at once unless a test asks for Shopify's real rate."""
        credentials = create_sandbox_shop(products=products, **kwargs)
        Shop.objects.filter(domain=credentials["shop_domain"]).update(restore_rate=restore_rate)
        shop = Shop.objects.get(domain=credentials["shop_domain"])
        return LiveShop(shop=shop, credentials=credentials, base_url=live_server.url)

    return make


@pytest.fixture
def live_shop(make_live_shop) -> LiveShop:
    return make_live_shop()


@pytest.fixture
def receiver(settings, live_server):
    """The test-only webhook receiver (its urlconf wraps the project's); yields its URL."""
    from . import receiver as module

    settings.ROOT_URLCONF = "sandbox.shopify.tests.receiver"
    module.RECEIVED.clear()
    module.SECRETS.clear()
    module.FAIL_NEXT.clear()
    yield module
    module.RECEIVED.clear()


def subscribe(live: LiveShop, topic: str, url: str) -> dict:
    """Register a webhook subscription through the GraphQL API, as the app would."""
    body = live.gql(
        "mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {"
        " webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {"
        " webhookSubscription { id topic endpoint { ... on WebhookHttpEndpoint { callbackUrl } } }"
        " userErrors { field message } } }",
        {"topic": topic, "sub": {"callbackUrl": url, "format": "JSON"}},
    )
    return body["data"]["webhookSubscriptionCreate"]
