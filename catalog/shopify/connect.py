"""Connect a Shopify store: check the token, store the secrets, register webhook subscriptions."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from catalog.models import Catalog, ShopifyStore, Tenant

from .client import ShopifyClient
from .errors import ShopifyError

logger = logging.getLogger(__name__)

# Topics (GraphQL WebhookSubscriptionTopic) the app needs; header names in docs/shopify-api.md §6.
WEBHOOK_TOPICS = (
    "PRODUCTS_CREATE",
    "PRODUCTS_UPDATE",
    "PRODUCTS_DELETE",
    "INVENTORY_LEVELS_UPDATE",
    "INVENTORY_ITEMS_UPDATE",
    "COLLECTIONS_CREATE",
    "COLLECTIONS_UPDATE",
    "COLLECTIONS_DELETE",
    "APP_UNINSTALLED",
    "SHOP_UPDATE",
    "ORDERS_PAID",
)
# How Catalog.paused_reason starts after app/uninstalled (pause kind UNINSTALLED).
UNINSTALLED_REASON = "The Shopify app was uninstalled"
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


class ConnectError(Exception):
    """A store could not be connected; the message is one line for the operator."""


@dataclass
class ConnectResult:
    store: ShopifyStore
    created: bool
    subscriptions_created: list[str] = field(default_factory=list)
    subscriptions_existing: list[str] = field(default_factory=list)
    subscriptions_failed: dict[str, str] = field(default_factory=dict)


def normalize_shop_domain(value: str) -> str:
    """``https://Demo.myshopify.com/`` -> ``demo.myshopify.com``; ConnectError if not a domain."""
    domain = (value or "").strip().lower()
    domain = re.sub(r"^https?://", "", domain).split("/", 1)[0]
    if not _DOMAIN.match(domain):
        raise ConnectError(f"{value!r} is not a shop domain (expected e.g. my-shop.myshopify.com).")
    return domain


def webhook_callback_url() -> str:
    return f"{settings.SITE_URL}{reverse('shopify:webhooks')}"


def connect_store(
    tenant: Tenant,
    shop_domain: str,
    access_token: str,
    webhook_secret: str,
    *,
    admin_url: str = "",
    api_version: str = "",
    client: ShopifyClient | None = None,
) -> ConnectResult:
    """Check the token with ``shop {}``, save the store (secrets encrypted), subscribe to webhooks."""
    domain = normalize_shop_domain(shop_domain)
    access_token, webhook_secret = (access_token or "").strip(), (webhook_secret or "").strip()
    if not access_token:
        raise ConnectError("The Admin API access token is empty.")
    if not webhook_secret:
        raise ConnectError("The webhook secret (the app's client secret) is empty.")
    admin_url = (admin_url or "").strip().rstrip("/")

    # The token first: who owns a shop in Galantis is told only to someone who proved access to it.
    client = client or ShopifyClient(domain, access_token, admin_url=admin_url, api_version=api_version)
    try:
        shop = client.shop()
    except ShopifyError as exc:
        raise ConnectError(str(exc)) from exc

    with transaction.atomic():
        store, created = ShopifyStore.objects.select_for_update().get_or_create(
            shop_domain=domain, defaults={"tenant": tenant}
        )
        if store.tenant_id != tenant.pk:
            raise ConnectError(f"{domain} can't be connected here: it is connected to another Galantis account.")
        store.access_token = access_token
        store.webhook_secret = webhook_secret
        store.admin_url = admin_url
        store.api_version = api_version
        store.name = (shop.get("name") or store.name or domain)[:255]
        store.currency = shop.get("currencyCode") or store.currency
        store.primary_domain_url = ((shop.get("primaryDomain") or {}).get("url") or "")[:500]
        store.connected_at = timezone.now()
        store.uninstalled_at = None
        store.save()
        # Reinstalled: lift the uninstall's pause, and only that one.
        Catalog.objects.filter(store=store, pause_kind=Catalog.PauseKind.UNINSTALLED).update(
            pause_kind=Catalog.PauseKind.NONE,
            paused_reason="",
            paused_at=None,
            paused_until=None,
            updated_at=timezone.now(),
        )

    result = ConnectResult(store=store, created=created)
    _register_webhooks(client, store, result)
    return result


def _register_webhooks(client: ShopifyClient, store: ShopifyStore, result: ConnectResult) -> None:
    address = webhook_callback_url()
    try:
        existing = client.webhook_subscriptions()
    except ShopifyError as exc:
        result.subscriptions_failed["*"] = f"Could not list webhook subscriptions: {exc}"
        return
    registered = [s for s in existing if s["address"] == address and s["topic"] in WEBHOOK_TOPICS]
    have = {s["topic"] for s in registered}
    for topic in WEBHOOK_TOPICS:
        if topic in have:
            result.subscriptions_existing.append(topic)
            continue
        try:
            registered.append(client.create_webhook_subscription(topic, address))
            result.subscriptions_created.append(topic)
        except ShopifyError as exc:
            result.subscriptions_failed[topic] = str(exc)
            logger.warning("Webhook subscription %s for store %s failed: %s", topic, store.pk, exc)
    ShopifyStore.objects.filter(pk=store.pk).update(webhook_subscriptions=registered)
    store.webhook_subscriptions = registered
