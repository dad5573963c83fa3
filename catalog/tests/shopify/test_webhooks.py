"""POST /shopify/webhooks/: verification, de-duplication, durable storage, order-safe processing.

These tests sign deliveries themselves and process them without calling Shopify (the
topics here need no Admin API read); the end-to-end tests in test_sandbox_e2e.py have
the Shopify sandbox sign and deliver them over HTTP.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog import items
from catalog.models import Catalog, Product, Variant, WebhookEvent
from catalog.shopify import webhooks

from .payloads import dumps, rest_product, rest_variant, webhook_headers

pytestmark = pytest.mark.django_db
URL = "/shopify/webhooks/"


def _post(client, store, topic, body: bytes, **kwargs):
    return client.post(URL, data=body, content_type="application/json", **webhook_headers(store, topic, body, **kwargs))


def _product_body(title="Cedar Candle", updated_at="2025-03-04T10:00:00-05:00", price="20.00", qty=5):
    return dumps(
        rest_product(
            7, [rest_variant(44, 7, price=price, qty=qty, updated_at=updated_at)], title=title, updated_at=updated_at
        )
    )


def test_url_is_the_contract():
    assert reverse("shopify:webhooks") == URL


def test_a_signed_delivery_is_stored_and_queued(client, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(client, store, "products/update", _product_body())
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.topic, event.event_id, event.webhook_id, event.state) == (
        "products/update",
        "evt-1",
        "wh-1",
        WebhookEvent.State.RECEIVED,
    )
    assert bytes(event.body) == _product_body()
    assert event.headers["X-Shopify-Topic"] == "products/update"
    assert len(callbacks) == 1  # the processing task is queued only once the row is committed


@pytest.mark.parametrize("secret", ["wrong-secret", ""])
def test_bad_signature_is_401_and_stores_nothing(client, store, secret):
    response = _post(client, store, "products/update", _product_body(), secret=secret)
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0


def test_missing_signature_header_is_401(client, store):
    body = _product_body()
    headers = webhook_headers(store, "products/update", body)
    del headers["HTTP_X_SHOPIFY_HMAC_SHA256"]
    assert client.post(URL, data=body, content_type="application/json", **headers).status_code == 401
    assert WebhookEvent.objects.count() == 0


def test_unknown_shop_is_401(client, store):
    body = _product_body()
    headers = webhook_headers(store, "products/update", body)
    headers["HTTP_X_SHOPIFY_SHOP_DOMAIN"] = "someone-else.myshopify.com"
    assert client.post(URL, data=body, content_type="application/json", **headers).status_code == 401
    assert WebhookEvent.objects.count() == 0


def test_signature_of_another_shop_is_401(client, store, other_tenant):
    from catalog.tests.factories import ShopifyStoreFactory

    other = ShopifyStoreFactory(tenant=other_tenant)
    body = _product_body()
    headers = webhook_headers(store, "products/update", body, secret=other.webhook_secret)
    assert client.post(URL, data=body, content_type="application/json", **headers).status_code == 401


def test_a_retried_delivery_is_stored_once(client, store):
    assert _post(client, store, "products/update", _product_body()).status_code == 200
    assert _post(client, store, "products/update", _product_body()).status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_same_event_id_on_another_webhook_id_is_a_duplicate(client, store):
    _post(client, store, "products/update", _product_body(), webhook_id="wh-1")
    _post(client, store, "products/update", _product_body(), webhook_id="wh-2")
    assert WebhookEvent.objects.count() == 1


def test_webhook_id_is_the_fallback_dedup_key(client, store):
    _post(client, store, "products/update", _product_body(), event_id=None, webhook_id="wh-9")
    _post(client, store, "products/update", _product_body(), event_id=None, webhook_id="wh-9")
    assert list(WebhookEvent.objects.values_list("dedup_key", flat=True)) == ["wh-9"]


def test_malformed_json_is_400_and_kept_for_inspection(client, store):
    response = _post(client, store, "products/update", b'{"id": 7, "title": "trunc')
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.FAILED
    assert "Malformed JSON" in event.error
    assert bytes(event.body) == b'{"id": 7, "title": "trunc'


def test_unknown_topic_is_acknowledged_and_recorded(client, store):
    response = _post(client, store, "carts/update", b'{"id": 1}')
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.topic, event.state) == ("carts/update", WebhookEvent.State.IGNORED)


def test_orders_paid_is_handed_to_the_conversions_api(client, store):
    assert _post(client, store, "orders/paid", b'{"id": 1, "total_price": "10.00"}').status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.RECEIVED  # drained like every handled topic
    # The store has no catalog here, hence no pixel: the Conversions API says so.
    assert webhooks.process_event(event.pk) == WebhookEvent.State.IGNORED
    event.refresh_from_db()
    assert "no Meta catalog" in event.error


def test_a_body_over_the_limit_is_413(client, store, settings):
    settings.SHOPIFY_WEBHOOK_MAX_BYTES = 100
    assert _post(client, store, "products/update", _product_body()).status_code == 413
    assert WebhookEvent.objects.count() == 0


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


# -- processing -------------------------------------------------------------------------


def _deliver_and_process(client, store, topic, body, **kwargs):
    _post(client, store, topic, body, **kwargs)
    event = WebhookEvent.objects.order_by("-pk").first()
    webhooks.process_event(event.pk)
    event.refresh_from_db()
    return event


def test_products_update_creates_an_unseen_product(client, store, catalog):
    event = _deliver_and_process(client, store, "products/update", _product_body())
    assert event.state == WebhookEvent.State.PROCESSED
    variant = Variant.objects.get()
    assert (variant.retailer_id, variant.meta_status, variant.catalog_id) == ("44", "PENDING", catalog.pk)


def test_an_older_update_arriving_late_is_ignored(client, store, catalog):
    _deliver_and_process(
        client,
        store,
        "products/update",
        _product_body(title="Newer", updated_at="2025-03-05T10:00:00-05:00"),
        event_id="e2",
    )
    event = _deliver_and_process(
        client,
        store,
        "products/update",
        _product_body(title="Older", updated_at="2025-03-04T10:00:00-05:00"),
        event_id="e1",
    )
    assert event.state == WebhookEvent.State.IGNORED
    assert Product.objects.get().title == "Newer"


def test_processing_twice_applies_once(client, store, catalog):
    event = _deliver_and_process(client, store, "products/update", _product_body())
    assert webhooks.process_event(event.pk) is None  # already processed: not claimed again


def test_products_delete_marks_removed_and_a_later_older_update_does_not_revive(client, store, catalog):
    _deliver_and_process(client, store, "products/create", _product_body(), event_id="e1")
    deleted = _deliver_and_process(
        client, store, "products/delete", dumps({"id": 7}), event_id="e3", triggered_at="2025-03-06T00:00:00Z"
    )
    assert deleted.state == WebhookEvent.State.PROCESSED
    late = _deliver_and_process(
        client,
        store,
        "products/update",
        _product_body(title="Revived?", updated_at="2025-03-05T10:00:00-05:00"),
        event_id="e2",
    )
    assert late.state == WebhookEvent.State.IGNORED
    product = Product.objects.get()
    assert product.removed_at is not None and product.title == "Cedar Candle"


def test_inventory_item_update_sets_tracking(client, store, catalog):
    _deliver_and_process(client, store, "products/create", _product_body(qty=0), event_id="e1")
    event = _deliver_and_process(
        client,
        store,
        "inventory_items/update",
        dumps({"id": 1044, "tracked": False, "updated_at": "2025-03-05T00:00:00Z"}),
        event_id="e2",
    )
    assert event.state == WebhookEvent.State.PROCESSED
    assert Variant.objects.get().inventory_tracked is False


def test_app_uninstalled_marks_the_store_and_pauses_its_catalog(client, store, catalog):
    event = _deliver_and_process(client, store, "app/uninstalled", dumps({"id": 1, "domain": store.shop_domain}))
    assert event.state == WebhookEvent.State.PROCESSED
    store.refresh_from_db()
    catalog = Catalog.objects.get(pk=catalog.pk)
    assert store.uninstalled_at is not None
    assert catalog.pause_kind == Catalog.PauseKind.UNINSTALLED and "uninstalled" in catalog.paused_reason
    assert catalog.sync_enabled  # switched on still: it resumes when the store is reconnected


def test_shop_update_changes_currency_and_repends_variants(client, store, catalog):
    _deliver_and_process(client, store, "products/create", _product_body(), event_id="e1")
    Variant.objects.update(meta_status="SYNCED")
    event = _deliver_and_process(
        client, store, "shop/update", dumps({"id": 1, "name": store.name, "currency": "EUR"}), event_id="e2"
    )
    assert event.state == WebhookEvent.State.PROCESSED
    variant = Variant.objects.select_related("product__store").get()
    assert variant.meta_status == "PENDING"
    assert items.meta_item(variant, variant.product, variant.product.store)["price"] == "20.00 EUR"


def test_a_payload_without_product_id_is_ignored_not_crashing(client, store, catalog):
    event = _deliver_and_process(client, store, "products/update", dumps({"title": "no id"}))
    assert event.state == WebhookEvent.State.IGNORED


def test_the_sweeper_processes_events_whose_task_was_lost(client, store, catalog):
    _post(client, store, "products/update", _product_body())  # the on-commit task never ran
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    assert webhooks.sweep() == 1
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED
    assert Variant.objects.count() == 1


def test_the_sweeper_leaves_fresh_events_to_their_task(client, store, catalog):
    _post(client, store, "products/update", _product_body())
    assert webhooks.sweep() == 0


def test_the_sweeper_takes_over_a_claim_of_a_dead_worker(client, store, catalog):
    _post(client, store, "products/update", _product_body())
    WebhookEvent.objects.update(
        state=WebhookEvent.State.PROCESSING,
        claimed_at=timezone.now() - timedelta(hours=1),
        received_at=timezone.now() - timedelta(hours=1),
    )
    assert webhooks.sweep() == 1
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


def test_reprocess_requeues_failed_events(client, store, catalog, django_capture_on_commit_callbacks):
    _post(client, store, "products/update", _product_body())
    webhooks.drain(store.pk)
    WebhookEvent.objects.update(state=WebhookEvent.State.FAILED, error="boom", attempts=1)
    with django_capture_on_commit_callbacks() as callbacks:
        assert webhooks.reprocess(WebhookEvent.objects.all()) == 1
    assert WebhookEvent.objects.get().state == WebhookEvent.State.RECEIVED
    assert len(callbacks) == 1  # the store's drain
    assert webhooks.drain(store.pk) == 1
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED
