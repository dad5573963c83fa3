"""Receiving at volume: one drain task per burst, every stored event processed, kept secrets.

The receiver stores each delivery with one INSERT and queues a drain of its store only
when none is pending; the drain processes the store's events in arrival order. The
store's webhook secret is kept in memory for a few seconds, and a rotation must win.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from catalog.models import ShopifyStore, Variant, WebhookDrain, WebhookEvent
from catalog.shopify import signing_keys, webhooks

from .payloads import dumps, rest_product, rest_variant, webhook_headers

URL = "/shopify/webhooks/"


def _body(product_id: int, price: str = "20.00", updated_at: str = "2025-03-04T10:00:00-05:00") -> bytes:
    variant = rest_variant(product_id * 10, product_id, price=price, updated_at=updated_at)
    return dumps(rest_product(product_id, [variant], updated_at=updated_at))


def _post(client, store, body: bytes, n: int, topic: str = "products/update", **kwargs):
    headers = webhook_headers(store, topic, body, event_id=f"evt-{n}", webhook_id=f"wh-{n}", **kwargs)
    return client.post(URL, data=body, content_type="application/json", **headers)


# -- coalesced processing -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_burst_queues_one_drain_not_one_task_per_delivery(client, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        for n in range(5):
            assert _post(client, store, _body(n + 1), n).status_code == 200
    assert WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED).count() == 5
    assert len(callbacks) == 1
    assert WebhookDrain.objects.get().store_id == store.pk


@pytest.mark.django_db
def test_the_queued_drain_is_the_task_that_processes_the_events(
    client, store, catalog, django_capture_on_commit_callbacks
):
    from django.utils.module_loading import import_string

    with django_capture_on_commit_callbacks() as callbacks:
        _post(client, store, _body(1), 1)
        _post(client, store, _body(2), 2)
    (queued,) = callbacks
    func, *args = queued.args  # partial(async_task, "dotted.path", *args, group=...)
    assert queued.keywords["group"] == f"shopify-webhooks:{store.pk}"
    assert import_string(func)(*args) == 2  # what the Django-Q worker runs
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {WebhookEvent.State.PROCESSED}


@pytest.mark.django_db
def test_the_drain_processes_every_stored_event_and_clears_its_request(client, store, catalog):
    for n in range(6):
        _post(client, store, _body(n + 1), n)
    assert webhooks.drain(store.pk) == 6
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {WebhookEvent.State.PROCESSED}
    assert Variant.objects.count() == 6
    assert not WebhookDrain.objects.exists()


@pytest.mark.django_db
def test_a_delivery_after_a_drain_started_queues_the_next_one(
    client, store, catalog, django_capture_on_commit_callbacks
):
    _post(client, store, _body(1), 1)
    webhooks.drain(store.pk)  # deleted its request before reading the events
    with django_capture_on_commit_callbacks() as callbacks:
        _post(client, store, _body(2), 2)
    assert len(callbacks) == 1
    assert webhooks.drain(store.pk) == 1
    assert WebhookEvent.objects.get(event_id="evt-2").state == WebhookEvent.State.PROCESSED


@pytest.mark.django_db
def test_a_full_drain_queues_its_successor_and_the_successor_finishes(
    client, store, catalog, django_capture_on_commit_callbacks
):
    for n in range(5):
        _post(client, store, _body(n + 1), n)
    with django_capture_on_commit_callbacks() as callbacks:
        assert webhooks.drain(store.pk, limit=3) == 3
    # One successor drain queued (and, since push on change, one push of what the events changed).
    queued = [c for c in callbacks if "catalog.tasks.drain_shopify_webhooks" in getattr(c, "args", ())]
    assert len(queued) == 1 and WebhookDrain.objects.filter(store=store).exists()
    assert webhooks.drain(store.pk, limit=3) == 2
    assert WebhookEvent.objects.filter(state=WebhookEvent.State.PROCESSED).count() == 5


@pytest.mark.django_db
def test_the_drain_keeps_the_stores_apart(client, store, catalog, other_tenant):
    from catalog.tests.factories import CatalogFactory, ShopifyStoreFactory

    other = ShopifyStoreFactory(tenant=other_tenant)
    CatalogFactory(tenant=other_tenant, store=other)
    _post(client, store, _body(1), 1)
    _post(client, other, _body(2), 2)
    assert webhooks.drain(store.pk) == 1
    theirs = WebhookEvent.objects.get(store=other)
    assert (theirs.state, theirs.tenant_id) == (WebhookEvent.State.RECEIVED, other_tenant.pk)
    assert WebhookDrain.objects.get().store_id == other.pk  # their drain is still pending
    assert Variant.objects.for_tenant(other_tenant).count() == 0


@pytest.mark.django_db
def test_the_drain_leaves_retries_of_a_transient_failure_to_the_sweeper(client, store, catalog):
    _post(client, store, _body(1), 1)
    WebhookEvent.objects.update(attempts=1)  # put back after a failed attempt
    assert webhooks.drain(store.pk) == 0
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    assert webhooks.sweep() == 1
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


@pytest.mark.django_db
def test_the_sweeper_drops_a_drain_request_whose_task_was_lost(client, store, catalog):
    _post(client, store, _body(1), 1)
    WebhookDrain.objects.update(requested_at=timezone.now() - timedelta(hours=1))
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(hours=1))
    assert webhooks.sweep() == 1
    assert not WebhookDrain.objects.exists()
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


@pytest.mark.django_db
def test_a_fresh_drain_request_survives_the_sweeper(client, store):
    _post(client, store, _body(1), 1)
    webhooks.sweep()
    assert WebhookDrain.objects.exists()


@pytest.mark.django_db
def test_a_duplicate_of_a_drained_delivery_queues_no_drain(client, store, catalog, django_capture_on_commit_callbacks):
    _post(client, store, _body(1), 1)
    webhooks.drain(store.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        assert _post(client, store, _body(1), 1).json()["status"].startswith("Duplicate")
    assert callbacks == [] and not WebhookDrain.objects.exists()


@pytest.mark.django_db
def test_malformed_and_ignored_deliveries_queue_no_drain(client, store):
    assert _post(client, store, b'{"id": 1, "title": "cut', 1).status_code == 400
    assert _post(client, store, b'{"id": 1}', 2, topic="carts/update").status_code == 200
    assert WebhookEvent.objects.count() == 2
    assert not WebhookDrain.objects.exists()


# -- statements per delivery --------------------------------------------------------------


@pytest.mark.django_db
def test_a_delivery_costs_two_statements_once_the_key_is_kept(client, store, django_assert_num_queries):
    with django_assert_num_queries(3):  # the store's key, the event, the drain request
        _post(client, store, _body(1), 1)
    with django_assert_num_queries(2):
        _post(client, store, _body(2), 2)
    with django_assert_num_queries(1):  # a duplicate: the conflict answers, nothing else runs
        assert _post(client, store, _body(2), 2).json()["status"].startswith("Duplicate")
    assert WebhookEvent.objects.count() == 2


# -- the kept webhook secret --------------------------------------------------------------


@pytest.mark.django_db
def test_a_rotated_secret_saved_here_takes_effect_at_once(client, store):
    old = store.webhook_secret
    assert _post(client, store, _body(1), 1).status_code == 200  # the old secret is now kept
    store.webhook_secret = "whsec-rotated"
    store.save()
    assert _post(client, store, _body(2), 2, secret=old).status_code == 401
    assert _post(client, store, _body(3), 3).status_code == 200
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {"evt-1", "evt-3"}


@pytest.mark.django_db
def test_a_secret_rotated_by_another_process_is_accepted_from_its_first_delivery(client, store):
    assert _post(client, store, _body(1), 1).status_code == 200
    # An update() (another process, e.g. connect_shopify) sends no signal to this process.
    ShopifyStore.objects.filter(pk=store.pk).update(webhook_secret="whsec-elsewhere")
    store.refresh_from_db()
    assert _post(client, store, _body(2), 2).status_code == 200


@pytest.mark.django_db
def test_a_secret_rotated_elsewhere_stops_working_once_the_key_expires(client, store, monkeypatch):
    old = store.webhook_secret
    assert _post(client, store, _body(1), 1).status_code == 200
    ShopifyStore.objects.filter(pk=store.pk).update(webhook_secret="whsec-elsewhere")
    monkeypatch.setattr(signing_keys, "KEY_TTL", 0.0)
    signing_keys.forget()  # what KEY_TTL seconds do to every kept key
    assert _post(client, store, _body(2), 2, secret=old).status_code == 401


@pytest.mark.django_db
def test_unknown_shops_are_not_kept(client, store):
    body = _body(1)
    headers = webhook_headers(store, "products/update", body)
    for n in range(3):
        headers["HTTP_X_SHOPIFY_SHOP_DOMAIN"] = f"junk-{n}.myshopify.com"
        assert client.post(URL, data=body, content_type="application/json", **headers).status_code == 401
    assert signing_keys._keys == {}


@pytest.mark.django_db(transaction=True)
def test_a_store_deleted_by_another_process_while_its_key_is_kept_gets_401(client, store):
    assert signing_keys.lookup(store.shop_domain) is not None
    with connection.cursor() as cursor:  # no post_delete signal in this process
        cursor.execute("DELETE FROM catalog_shopifystore WHERE id = %s", [store.pk])
    assert _post(client, store, _body(1), 1).status_code == 401
    assert WebhookEvent.objects.count() == 0
