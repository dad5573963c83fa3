"""Webhooks over real HTTP: headers, HMAC, REST payloads, duplicates, out-of-order, retries."""

import json
from decimal import Decimal

import pytest

from sandbox.shopify import changes, webhooks
from sandbox.shopify.models import Shop, WebhookDelivery, WebhookSubscription

from .conftest import subscribe

pytestmark = pytest.mark.django_db(transaction=True)

REQUIRED_HEADERS = [
    "X-Shopify-Topic",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Api-Version",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
]


@pytest.fixture
def hooked(make_live_shop, receiver):
    """A live shop subscribed to the main topics at the test receiver."""
    live = make_live_shop(products=4)
    receiver.SECRETS[live.shop.domain] = live.credentials["webhook_secret"]
    url = f"{live.base_url}/test-webhooks/"
    for topic in (
        "PRODUCTS_CREATE",
        "PRODUCTS_UPDATE",
        "PRODUCTS_DELETE",
        "INVENTORY_LEVELS_UPDATE",
        "ORDERS_PAID",
        "APP_UNINSTALLED",
        "COLLECTIONS_CREATE",
    ):
        assert subscribe(live, topic, url)["userErrors"] == []
    return live, receiver


def _first_variant(shop):
    return shop.products.order_by("legacy_id").first().variants.order_by("position").first()


def test_subscription_create_answers_like_shopify(make_live_shop):
    live = make_live_shop(products=1)
    created = subscribe(live, "PRODUCTS_UPDATE", "https://app.example/webhooks")
    assert created["userErrors"] == []
    assert created["webhookSubscription"]["topic"] == "PRODUCTS_UPDATE"
    assert created["webhookSubscription"]["endpoint"] == {"callbackUrl": "https://app.example/webhooks"}


def test_subscription_rejects_unknown_topic(make_live_shop):
    live = make_live_shop(products=1)
    body = live.gql(
        'mutation { webhookSubscriptionCreate(topic: PRODUCTS_EXPLODE, webhookSubscription: {callbackUrl: "https://a.example"})'
        " { userErrors { message } } }"
    )
    assert "data" not in body and body["errors"]


def test_price_change_delivers_signed_products_update(hooked):
    live, receiver = hooked
    variant = _first_variant(live.shop)
    changes.update_variants(variant.product, [{"variant": variant, "price": Decimal("12.34")}])
    [hit] = [r for r in receiver.RECEIVED if r["headers"]["X-Shopify-Topic"] == "products/update"]
    assert hit["hmac_ok"]
    assert all(name in hit["headers"] for name in REQUIRED_HEADERS)
    assert hit["headers"]["X-Shopify-Shop-Domain"] == live.shop.domain
    payload = json.loads(hit["body"])
    assert payload["id"] == variant.product.legacy_id
    sent = next(v for v in payload["variants"] if v["id"] == variant.legacy_id)
    assert sent["price"] == "12.34" and isinstance(sent["id"], int)


def test_body_escapes_html_like_rails(hooked):
    live, receiver = hooked
    product = live.shop.products.first()
    changes.update_product(product, description_html="<p>Fish & chips</p>")
    raw = receiver.RECEIVED[-1]["body"]
    assert b"\\u003cp\\u003eFish \\u0026 chips" in raw
    assert json.loads(raw)["body_html"] == "<p>Fish & chips</p>"


def test_inventory_change_sends_inventory_levels_update(hooked):
    live, receiver = hooked
    variant = _first_variant(live.shop)
    changes.set_inventory(variant, 7)
    hit = next(r for r in receiver.RECEIVED if r["headers"]["X-Shopify-Topic"] == "inventory_levels/update")
    payload = json.loads(hit["body"])
    assert payload["inventory_item_id"] == variant.inventory_item_legacy_id
    assert payload["available"] == 7


def test_delete_sends_id_only(hooked):
    live, receiver = hooked
    product = live.shop.products.first()
    legacy_id = changes.delete_product(product)
    hit = next(r for r in receiver.RECEIVED if r["headers"]["X-Shopify-Topic"] == "products/delete")
    assert json.loads(hit["body"]) == {"id": legacy_id}


def test_paid_order_sends_orders_paid(hooked):
    live, receiver = hooked
    variant = _first_variant(live.shop)
    changes.create_order(live.shop, [(variant, 2)], email="a@b.example")
    hit = next(r for r in receiver.RECEIVED if r["headers"]["X-Shopify-Topic"] == "orders/paid")
    payload = json.loads(hit["body"])
    assert payload["line_items"][0]["variant_id"] == variant.legacy_id
    assert payload["total_price"] == f"{variant.price * 2:.2f}"


def test_uninstall_sends_app_uninstalled_and_kills_token(hooked):
    live, receiver = hooked
    changes.uninstall_app(live.shop)
    assert receiver.RECEIVED[-1]["headers"]["X-Shopify-Topic"] == "app/uninstalled"
    assert live.post("{ shop { name } }").status_code == 401


def test_duplicates_keep_webhook_and_event_ids(hooked):
    live, receiver = hooked
    Shop.objects.filter(pk=live.shop.pk).update(webhook_duplicates=2)
    changes.update_product(live.shop.products.first(), title="Renamed")
    hits = [r for r in receiver.RECEIVED if r["headers"]["X-Shopify-Topic"] == "products/update"]
    assert len(hits) == 3
    assert len({h["headers"]["X-Shopify-Webhook-Id"] for h in hits}) == 1
    assert len({h["headers"]["X-Shopify-Event-Id"] for h in hits}) == 1
    assert all(h["hmac_ok"] for h in hits)


def test_held_webhooks_flush_out_of_order(hooked):
    live, receiver = hooked
    Shop.objects.filter(pk=live.shop.pk).update(webhook_mode=Shop.WebhookMode.HELD, webhook_shuffle=True)
    live.shop.refresh_from_db()
    product = live.shop.products.first()
    changes.update_product(product, title="First")
    changes.update_product(product, title="Second")
    assert receiver.RECEIVED == []
    webhooks.flush(live.shop)
    titles = [json.loads(r["body"])["title"] for r in receiver.RECEIVED]
    stamps = [json.loads(r["body"])["updated_at"] for r in receiver.RECEIVED]
    assert titles == ["Second", "First"]
    assert stamps[0] >= stamps[1]


def test_failed_delivery_is_retried_with_same_ids(hooked):
    live, receiver = hooked
    receiver.FAIL_NEXT.extend([500])
    changes.update_product(live.shop.products.first(), title="Retry me")
    delivery = WebhookDelivery.objects.get(topic="products/update")
    assert delivery.status == WebhookDelivery.Status.RETRYING
    webhooks.deliver_due(live.shop.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED and delivery.attempts == 2
    first, second = [r for r in receiver.RECEIVED if r["headers"]["X-Shopify-Topic"] == "products/update"]
    assert first["headers"]["X-Shopify-Webhook-Id"] == second["headers"]["X-Shopify-Webhook-Id"]
    assert first["body"] == second["body"]


def test_subscription_deleted_after_eight_failures(hooked):
    live, receiver = hooked
    receiver.FAIL_NEXT.extend([500] * webhooks.MAX_ATTEMPTS)
    changes.update_product(live.shop.products.first(), title="Doomed")
    for _ in range(webhooks.MAX_ATTEMPTS - 1):
        webhooks.deliver_due(live.shop.pk)
    assert WebhookDelivery.objects.get(topic="products/update").status == WebhookDelivery.Status.FAILED
    assert not WebhookSubscription.objects.filter(shop=live.shop, topic="PRODUCTS_UPDATE").exists()


def test_graphql_mutation_triggers_webhook(hooked):
    live, receiver = hooked
    variant = _first_variant(live.shop)
    body = live.gql(
        "mutation($p: ID!, $v: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $p, variants: $v)"
        " { productVariants { price compareAtPrice } userErrors { field message } } }",
        {"p": variant.product.gid, "v": [{"id": variant.gid, "price": "9.99", "compareAtPrice": "19.99"}]},
    )
    assert body["data"]["productVariantsBulkUpdate"] == {
        "productVariants": [{"price": "9.99", "compareAtPrice": "19.99"}],
        "userErrors": [],
    }
    assert any(r["headers"]["X-Shopify-Topic"] == "products/update" for r in receiver.RECEIVED)
