"""The drain applies consecutive product creates/updates with one upsert, keeping every guarantee.

Order safety (newest ``updated_at`` wins, deletes win over older updates), stock levels
ordered by each event's own trigger time, one final state per event, and a bad payload
failing only its own event: the same outcomes as processing the events one by one.
"""

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Product, Variant, WebhookEvent
from catalog.shopify import webhooks

from .payloads import dumps, rest_product, rest_variant, webhook_headers

URL = "/shopify/webhooks/"
_ids = count(1)


def _body(product_id: int, *, price="20.00", qty=5, updated_at="2025-03-04T10:00:00-05:00", variant_id=None):
    variant = rest_variant(variant_id or product_id * 10, product_id, price=price, qty=qty, updated_at=updated_at)
    return dumps(rest_product(product_id, [variant], updated_at=updated_at))


def _post(client, store, body: bytes, *, topic="products/update", triggered_at="2025-03-04T15:00:01Z") -> int:
    n = next(_ids)
    headers = webhook_headers(store, topic, body, event_id=f"evt-{n}", webhook_id=f"wh-{n}", triggered_at=triggered_at)
    response = client.post(URL, data=body, content_type="application/json", **headers)
    assert response.status_code == 200
    return WebhookEvent.objects.get(event_id=f"evt-{n}").pk


def _state(event_pk: int) -> str:
    return WebhookEvent.objects.get(pk=event_pk).state


def _variant(product_id: int) -> Variant:
    return Variant.objects.get(shopify_variant_id=product_id * 10)


@pytest.mark.django_db
def test_a_batch_of_updates_costs_the_same_statements_for_5_or_19_products(client, store, catalog):
    for product_id in range(1, 20):
        _post(client, store, _body(product_id), topic="products/create")
    assert webhooks.drain(store.pk) == 19  # the products exist now: what follows are updates

    def drain_updates(product_ids, price: str, updated_at: str) -> int:
        for product_id in product_ids:
            _post(client, store, _body(product_id, price=price, updated_at=updated_at))
        with CaptureQueriesContext(connection) as queries:
            assert webhooks.drain(store.pk) == len(product_ids)
        return len(queries)

    few = drain_updates(range(1, 6), "21.00", "2025-03-04T11:00:00-05:00")
    # 19, not more: SQLite's 999 parameters split a bulk write at ~20 variant rows (not PostgreSQL).
    many = drain_updates(range(1, 20), "22.00", "2025-03-04T12:00:00-05:00")
    # One product at a time cost ~21 statements *per event*; 33 includes the store lock
    # (upsert.lock_store) that keeps two drains of the store from writing an older version last,
    # and the per-item timeline's bulk inserts of the batch's "Shopify change" and "changed" events.
    assert few == many <= 33
    assert set(Variant.objects.values_list("price", flat=True)) == {22}
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {WebhookEvent.State.PROCESSED}


@pytest.mark.django_db
def test_two_events_of_a_product_out_of_order_in_one_batch_end_in_the_newest_state(client, store, catalog):
    newer = _post(client, store, _body(1, price="30.00", updated_at="2025-03-04T11:00:00-05:00"))
    older = _post(client, store, _body(1, price="20.00", updated_at="2025-03-04T10:00:00-05:00"))
    assert webhooks.drain(store.pk) == 2
    assert _variant(1).price == 30
    assert (_state(newer), _state(older)) == (WebhookEvent.State.PROCESSED, WebhookEvent.State.IGNORED)


@pytest.mark.django_db
def test_an_older_stock_reading_in_the_same_batch_does_not_overwrite_a_newer_one(client, store, catalog):
    # Same product version (stock moves do not touch updated_at): the trigger time decides.
    _post(client, store, _body(1, qty=3), triggered_at="2025-03-04T15:00:05Z")
    _post(client, store, _body(1, qty=9), triggered_at="2025-03-04T15:00:01Z")
    assert webhooks.drain(store.pk) == 2
    variant = _variant(1)
    assert (variant.inventory_quantity, variant.inventory_updated_at) == (3, datetime(2025, 3, 4, 15, 0, 5, tzinfo=UTC))


@pytest.mark.django_db
def test_a_batch_keeps_a_stored_stock_level_newer_than_its_event(client, store, catalog):
    _post(client, store, _body(1, qty=5))
    _post(client, store, _body(2, qty=5))
    webhooks.drain(store.pk)
    # An inventory webhook stored a later reading of product 1's stock meanwhile.
    Variant.objects.filter(shopify_variant_id=10).update(
        inventory_quantity=1, inventory_updated_at=datetime(2025, 3, 4, 15, 0, 30, tzinfo=UTC)
    )
    for product_id in (1, 2):
        _post(client, store, _body(product_id, price="25.00", qty=7, updated_at="2025-03-04T10:00:10-05:00"))
    assert webhooks.drain(store.pk) == 2
    first, second = _variant(1), _variant(2)
    assert (first.price, first.inventory_quantity) == (25, 1)  # the product change applies, the stock stays
    assert (second.price, second.inventory_quantity) == (25, 7)


@pytest.mark.django_db
def test_a_bad_payload_fails_only_its_own_event(client, store, catalog):
    good = _post(client, store, _body(1))
    bad = _post(client, store, _body(2, variant_id=2**70))  # no database column holds that id
    also_good = _post(client, store, _body(3))
    assert webhooks.drain(store.pk) == 3
    assert (_state(good), _state(also_good)) == (WebhookEvent.State.PROCESSED, WebhookEvent.State.PROCESSED)
    failed = WebhookEvent.objects.get(pk=bad)
    assert (failed.state, failed.attempts) == (WebhookEvent.State.FAILED, 1)
    assert failed.error
    assert sorted(Product.objects.values_list("shopify_product_id", flat=True)) == [1, 3]


@pytest.mark.django_db
def test_an_update_after_a_delete_in_the_same_drain_stays_deleted(client, store, catalog):
    _post(client, store, _body(1), topic="products/create")
    webhooks.drain(store.pk)
    applied = _post(client, store, _body(1, price="25.00", updated_at="2025-03-04T10:00:01-05:00"))
    _post(client, store, dumps({"id": 1}), topic="products/delete", triggered_at="2025-03-04T15:00:05Z")
    late = _post(client, store, _body(1, price="26.00", updated_at="2025-03-04T10:00:02-05:00"))
    assert webhooks.drain(store.pk) == 3
    product, variant = Product.objects.get(shopify_product_id=1), _variant(1)
    assert product.removed_at is not None and variant.removed_at is not None
    assert variant.price == 25
    assert (_state(applied), _state(late)) == (WebhookEvent.State.PROCESSED, WebhookEvent.State.IGNORED)


@pytest.mark.django_db
def test_a_batch_leaves_events_another_worker_holds(client, store, catalog):
    pks = [_post(client, store, _body(product_id)) for product_id in (1, 2, 3)]
    assert webhooks.claim(pks[1])  # another drain took it a moment ago
    assert webhooks.process_product_events(store.pk, pks) == 2
    assert [_state(pk) for pk in pks] == [
        WebhookEvent.State.PROCESSED,
        WebhookEvent.State.PROCESSING,
        WebhookEvent.State.PROCESSED,
    ]
    assert webhooks.process_product_events(store.pk, pks) == 0  # nothing is taken twice
    assert not Variant.objects.filter(shopify_variant_id=20).exists()


@pytest.mark.django_db
def test_a_batch_takes_over_events_a_dead_worker_held(client, store, catalog):
    pks = [_post(client, store, _body(product_id)) for product_id in (1, 2)]
    WebhookEvent.objects.filter(pk=pks[0]).update(
        state=WebhookEvent.State.PROCESSING, claimed_at=timezone.now() - timedelta(minutes=11), attempts=1
    )
    assert webhooks.process_product_events(store.pk, pks) == 2
    taken_over = WebhookEvent.objects.get(pk=pks[0])
    assert (taken_over.state, taken_over.attempts) == (WebhookEvent.State.PROCESSED, 2)
    assert _variant(1).price == 20
