"""Paid orders in: one queued event per order, whatever the deliveries do; raw personal data dropped."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.tests.factories import (
    CatalogFactory,
    ProductFactory,
    ShopifyStoreFactory,
    VariantFactory,
    WebhookEventFactory,
)
from conversions import events
from conversions.models import ConversionEvent, ConversionsSettings
from conversions.orders import record_paid_order, record_paid_orders

pytestmark = pytest.mark.django_db
State = ConversionEvent.State


def order(**overrides) -> dict:
    now = timezone.now()
    body = {
        "id": 5512345678901,
        "name": "#1001",
        "email": "Ana@Example.com",
        "phone": "+351 912 345 678",
        "currency": "EUR",
        "total_price": "25.50",
        "processed_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "customer": {"id": 77, "first_name": "Ana", "last_name": "Sousa", "email": "ana@example.com"},
        "billing_address": {"city": "Lisboa", "zip": "1100-148", "country_code": "PT", "phone": "912 345 678"},
        "client_details": {"browser_ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
        "line_items": [
            {"id": 1, "variant_id": 4400001, "quantity": 2, "price": "10.00"},
            {"id": 2, "variant_id": None, "quantity": 1, "price": "5.50", "title": "Gift wrap"},
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
def catalog(tenant):
    store = ShopifyStoreFactory(tenant=tenant, currency="EUR", primary_domain_url="https://shop.example")
    catalog = CatalogFactory(tenant=tenant, store=store, pixel_id="200000000000001")
    VariantFactory(
        product=ProductFactory(tenant=tenant, store=store),
        catalog=catalog,
        shopify_variant_id=4400001,
        retailer_id="4400001",
    )
    return catalog


def test_a_paid_order_queues_one_purchase(catalog, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = record_paid_order(catalog.store, order())
    row = ConversionEvent.objects.get()
    assert outcome.queued and row.state == State.QUEUED and row.event_id == "5512345678901"
    assert row.payload["custom_data"]["content_ids"] == ["4400001"]
    assert row.payload["custom_data"]["num_items"] == 3 and row.payload["custom_data"]["value"] == 25.5
    assert row.payload["event_source_url"] == "https://shop.example"
    assert len(callbacks) == 1  # the send is queued at once, after commit


def test_the_stored_delivery_loses_its_personal_data(catalog):
    body = order()
    delivery = WebhookEventFactory(store=catalog.store, topic="orders/paid", body=json.dumps(body).encode())
    record_paid_order(catalog.store, body, webhook_event_id=delivery.pk)
    delivery.refresh_from_db()
    kept = json.loads(bytes(delivery.body))
    assert kept["id"] == body["id"] and kept["line_items"][0]["variant_id"] == 4400001
    text = json.dumps(kept).lower()
    for personal in ("ana@example.com", "sousa", "lisboa", "203.0.113.7", "912 345 678", "mozilla"):
        assert personal not in text


def test_a_second_delivery_of_the_same_order_adds_nothing(catalog):
    body = order()
    record_paid_order(catalog.store, body)
    outcome = record_paid_order(catalog.store, dict(body))
    assert not outcome.queued and "nothing new" in outcome.note
    assert ConversionEvent.objects.count() == 1


def test_a_newer_version_of_a_waiting_order_replaces_it_and_an_older_one_does_not(catalog):
    now = timezone.now()
    record_paid_order(catalog.store, order(updated_at=now.isoformat()))
    record_paid_order(catalog.store, order(updated_at=(now + timedelta(seconds=5)).isoformat(), total_price="30.00"))
    record_paid_order(catalog.store, order(updated_at=(now - timedelta(seconds=5)).isoformat(), total_price="1.00"))
    assert ConversionEvent.objects.get().payload["custom_data"]["value"] == 30


def test_a_sent_order_is_never_changed_by_a_later_delivery(catalog):
    record_paid_order(catalog.store, order())
    ConversionEvent.objects.update(state=State.SENT)
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    record_paid_order(catalog.store, order(updated_at=later, total_price="99.00"))
    assert ConversionEvent.objects.get().payload["custom_data"]["value"] == 25.5


def test_an_order_in_another_currency_is_sent_in_its_own_with_a_note(catalog):
    record_paid_order(catalog.store, order(currency="USD"))
    row = ConversionEvent.objects.get()
    assert row.payload["custom_data"]["currency"] == "USD" and "catalog prices in EUR" in row.note


def test_an_order_older_than_seven_days_is_dead_without_personal_data(catalog):
    old = (timezone.now() - timedelta(days=8)).isoformat()
    outcome = record_paid_order(catalog.store, order(processed_at=old))
    row = ConversionEvent.objects.get()
    assert not outcome.queued and row.state == State.DEAD and "7 days" in row.last_error
    assert row.payload["user_data"] == {}


def test_an_order_with_no_customer_information_at_all_is_dead(catalog):
    bare = order(email=None, phone=None, customer=None, billing_address=None, client_details=None)
    record_paid_order(catalog.store, bare)
    assert "no customer information" in ConversionEvent.objects.get().last_error


def test_a_store_without_a_catalog_sends_nothing(tenant):
    outcome = record_paid_order(ShopifyStoreFactory(tenant=tenant), order())
    assert not outcome.queued and "no Meta catalog" in outcome.note and not ConversionEvent.objects.exists()


def test_a_tenant_that_turned_it_off_sends_nothing(catalog):
    ConversionsSettings.objects.create(tenant=catalog.tenant, enabled=False)
    assert not record_paid_order(catalog.store, order()).queued
    assert not ConversionEvent.objects.exists()


def test_two_tenants_queue_the_same_order_id_apart(catalog, other_tenant):
    other = CatalogFactory(tenant=other_tenant, store=ShopifyStoreFactory(tenant=other_tenant))
    record_paid_order(catalog.store, order())
    record_paid_order(other.store, order())
    assert ConversionEvent.objects.for_tenant(other_tenant).count() == 1
    assert ConversionEvent.objects.count() == 2


# -- the event itself (pure) --------------------------------------------------------------------


def build(payload: dict, **kwargs) -> events.BuiltEvent:
    kwargs.setdefault("retailer_ids", {4400001: "4400001"})
    return events.build_purchase(payload, site_url="https://shop.example", now=timezone.now(), **kwargs)


def test_event_time_is_processed_at_and_never_in_the_future():
    paid = timezone.now() - timedelta(hours=1)
    assert build(order(processed_at=paid.isoformat())).payload["event_time"] == int(paid.timestamp())
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert build(order(processed_at=future)).payload["event_time"] <= int(timezone.now().timestamp())


def test_the_same_variant_on_two_lines_is_one_content():
    lines = [
        {"variant_id": 4400001, "quantity": 1, "price": "10.00"},
        {"variant_id": 4400001, "quantity": 2, "price": "10.00"},
    ]
    data = build(order(line_items=lines)).payload["custom_data"]
    assert data["contents"] == [{"id": "4400001", "quantity": 3, "item_price": 10}] and data["num_items"] == 3


def test_a_variant_the_catalog_does_not_know_uses_its_variant_id():
    lines = [{"variant_id": 99, "quantity": 1, "price": "1.00"}]
    assert build(order(line_items=lines)).payload["custom_data"]["content_ids"] == ["99"]


def test_a_linked_catalogs_item_id_is_used_for_content_ids():
    payload = build(order(), retailer_ids={4400001: "SKU-FROM-OTHER-TOOL"}).payload
    assert payload["custom_data"]["content_ids"] == ["SKU-FROM-OTHER-TOOL"]


@pytest.mark.parametrize(("source_name", "action_source"), [("pos", "physical_store"), ("web", "system_generated")])
def test_an_order_without_a_browser_is_not_a_website_event(source_name, action_source):
    payload = build(order(client_details=None, source_name=source_name)).payload
    assert payload["action_source"] == action_source and "event_source_url" not in payload


def test_an_order_without_email_or_phone_keeps_the_rest():
    user = build(order(email=None, phone=None, customer={"id": 5}, billing_address={"city": "Porto"})).payload[
        "user_data"
    ]
    assert set(user) == {"ct", "external_id", "client_ip_address", "client_user_agent"}


# -- a run of paid orders in bulk (the webhook drain's path) ----------------------------------------


def _orders(count: int, first_id: int = 7000) -> list[dict]:
    return [order(id=first_id + n, name=f"#{first_id + n}") for n in range(count)]


def test_a_run_of_paid_orders_queues_each_once_with_one_send_task(catalog, django_capture_on_commit_callbacks):
    now = timezone.now()
    first, second = _orders(2)
    newer_first = {**first, "updated_at": (now + timedelta(seconds=5)).isoformat(), "total_price": "30.00"}
    with django_capture_on_commit_callbacks() as callbacks:
        outcomes = record_paid_orders(catalog.store, [(None, first), (None, second), (None, newer_first)])
    assert [o.queued for o in outcomes] == [True, True, False]
    assert "updated to the newer order version" in outcomes[2].note  # as two deliveries one at a time
    assert ConversionEvent.objects.count() == 2
    assert ConversionEvent.objects.get(event_id="7000").payload["custom_data"]["value"] == 30
    assert len(callbacks) == 1  # one send task for the run


def test_a_run_takes_the_same_number_of_queries_for_5_and_30_orders(catalog):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    record_paid_orders(catalog.store, [(None, body) for body in _orders(5, first_id=100)])  # settings row exists
    counts = []
    # 30 rows stay within one INSERT on SQLite too (its bulk_create splits at 999 parameters).
    for size, first_id in ((5, 1000), (30, 2000)):
        with CaptureQueriesContext(connection) as captured:
            record_paid_orders(catalog.store, [(None, body) for body in _orders(size, first_id)])
        counts.append(len(captured.captured_queries))
    # Settings, catalog, variants, events already queued, the INSERT, the send task (ORM
    # broker), in a savepoint; one at a time it was ~14 statements an order.
    assert counts[0] == counts[1] <= 12, counts
    assert ConversionEvent.objects.count() == 40


def test_a_run_redacts_every_delivery_and_skips_what_is_not_an_order(catalog):
    bodies = _orders(2) + [{"id": "not an order"}]
    deliveries = [
        WebhookEventFactory(store=catalog.store, topic="orders/paid", body=json.dumps(body).encode()) for body in bodies
    ]
    outcomes = record_paid_orders(catalog.store, [(d.pk, b) for d, b in zip(deliveries, bodies, strict=True)])
    assert [o.queued for o in outcomes] == [True, True, False] and "Not a usable order" in outcomes[2].note
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert "ana@example.com" not in bytes(delivery.body).decode().lower()


def test_a_run_for_a_tenant_with_the_conversions_api_off_queues_nothing(catalog):
    ConversionsSettings.objects.update_or_create(tenant=catalog.tenant, defaults={"enabled": False})
    outcomes = record_paid_orders(catalog.store, [(None, body) for body in _orders(3)])
    assert not any(o.queued for o in outcomes) and not ConversionEvent.objects.exists()
