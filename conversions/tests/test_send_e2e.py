"""Paid orders to Purchase events, end to end over real HTTP: the Shopify sandbox delivers
``orders/paid`` to our webhook endpoint, the drain queues the event, the queue sends it to
the sandbox Graph API's ``POST /{pixel_id}/events``, and the test reads what the pixel got."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from facebook_business.adobjects.serverside.normalize import Normalize

from catalog.models import WebhookEvent
from conversions import send
from conversions.models import ConversionEvent, ConversionsSettings

from .conftest import process_received

pytestmark = pytest.mark.django_db(transaction=True)
State = ConversionEvent.State


def _received(pixel_id: str):
    from sandbox.models import ServerEvent

    return list(ServerEvent.objects.filter(pixel__pk=_pixel_pk(pixel_id)).order_by("pk"))


def _pixel_pk(pixel_id: str) -> int:
    from sandbox.models import Pixel

    return Pixel.pk_from_fbid(pixel_id)


def _order(capi, quantity: int = 2, **kwargs):
    from sandbox.shopify import changes

    variant = capi.sandbox_variant()
    order = changes.create_order(capi.shop, [(variant, quantity)], **kwargs)
    process_received()
    return order, variant


def _due_now() -> None:
    ConversionEvent.objects.filter(state=State.QUEUED).update(next_attempt_at=timezone.now())


def test_a_paid_order_reaches_the_pixel_as_one_hashed_purchase(capi):
    order, variant = _order(capi, email=" Sam.Buyer@Example.COM ", phone="+351 912 345 678")
    result = send.send_catalog_events(capi.catalog.pk)
    assert result.sent == 1
    [event] = _received(capi.meta["pixel_id"])
    sent = event.payload
    assert (event.event_name, event.event_id) == ("Purchase", str(order.legacy_id))
    assert sent["action_source"] == "website" and sent["event_time"] == int(order.processed_at.timestamp())
    expected = {
        "em": "Sam.Buyer@Example.COM",
        "ph": "+351 912 345 678",
        "fn": "Sam",
        "ln": "Buyer",
        "ct": "Lisbon",
        "zp": "1100-148",
        "country": "PT",
        "external_id": str(order.customer["id"]),
    }
    for key, raw in expected.items():
        assert sent["user_data"][key] == [Normalize.normalize_field(key, raw)], key
    assert sent["user_data"]["client_ip_address"] == "203.0.113.7"
    assert sent["user_data"]["client_user_agent"] == "Mozilla/5.0 (sandbox)"
    retailer_id = capi.retailer_id(variant)
    assert sent["custom_data"] == {
        "content_type": "product",
        "content_ids": [retailer_id],
        "contents": [{"id": retailer_id, "quantity": 2, "item_price": float(variant.price)}],
        "order_id": str(order.legacy_id),
        "num_items": 2,
        "value": float(order.total_price),
        "currency": order.currency,
    }


def test_after_sending_no_customer_data_is_kept(capi):
    _order(capi)
    send.send_catalog_events(capi.catalog.pk)
    row = ConversionEvent.objects.get()
    assert row.state == State.SENT and row.payload["user_data"] == {}
    assert "em" in row.user_data_keys and row.pixel_id == capi.meta["pixel_id"] and row.fbtrace_id
    body = bytes(WebhookEvent.objects.get(topic="orders/paid").body).decode()
    assert "buyer@example.com" not in body.lower() and "203.0.113.7" not in body and "Lisbon" not in body


def test_a_webhook_delivered_twice_sends_one_event(capi):
    from sandbox.shopify import payloads
    from sandbox.shopify.webhooks import emit

    order, _ = _order(capi)
    delivery = WebhookEvent.objects.get(topic="orders/paid")
    emit(capi.shop, "orders/paid", payloads.order(order), event_id=delivery.event_id)  # Shopify's retry
    emit(capi.shop, "orders/paid", payloads.order(order))  # fired again for the same order
    process_received()
    send.send_catalog_events(capi.catalog.pk)
    assert ConversionEvent.objects.count() == 1
    [event] = _received(capi.meta["pixel_id"])
    assert event.duplicates == 0
    repeat = WebhookEvent.objects.filter(topic="orders/paid").order_by("pk").last()
    assert repeat.state == WebhookEvent.State.IGNORED and "nothing new" in repeat.error


def test_a_redelivery_after_sending_sends_nothing_new(capi):
    from sandbox.shopify import payloads
    from sandbox.shopify.webhooks import emit

    order, _ = _order(capi)
    send.send_catalog_events(capi.catalog.pk)
    emit(capi.shop, "orders/paid", payloads.order(order))
    process_received()
    assert send.send_catalog_events(capi.catalog.pk).sent == 0
    assert len(_received(capi.meta["pixel_id"])) == 1


def test_an_injected_5xx_is_retried_with_backoff_then_sent(capi):
    from sandbox import faults

    _order(capi)
    faults.configure(fail_next=1)
    result = send.send_catalog_events(capi.catalog.pk)
    row = ConversionEvent.objects.get()
    assert (result.sent, result.retried) == (0, 1)
    assert row.state == State.QUEUED and row.attempts == 1 and row.next_attempt_at > timezone.now()
    assert "unexpected error" in row.last_error and row.payload["user_data"]
    assert send.send_catalog_events(capi.catalog.pk).sent == 0  # not due yet: the back-off holds
    _due_now()
    assert send.send_catalog_events(capi.catalog.pk).sent == 1
    assert len(_received(capi.meta["pixel_id"])) == 1


def test_throttling_is_retried_later(capi, settings):
    from sandbox import faults

    settings.META_RATE_LIMIT_APP_WAIT = 0  # the client's own pause after code 4 (Meta gives no estimate)
    _order(capi)
    faults.configure(rate_limited=True)
    send.send_catalog_events(capi.catalog.pk)
    row = ConversionEvent.objects.get()
    assert row.state == State.QUEUED and row.last_error_code == "4" and "limit" in row.last_error
    faults.reset()
    _due_now()
    assert send.send_catalog_events(capi.catalog.pk).sent == 1


def test_an_event_dies_after_the_last_attempt_with_its_error(capi):
    from sandbox import faults

    _order(capi)
    ConversionEvent.objects.update(attempts=send.MAX_ATTEMPTS - 1)
    faults.configure(outage=True)
    send.send_catalog_events(capi.catalog.pk)
    row = ConversionEvent.objects.get()
    assert row.state == State.DEAD and f"after {send.MAX_ATTEMPTS} attempts" in row.last_error
    assert "unavailable" in row.last_error


def test_an_event_meta_refuses_dies_at_once_and_the_others_go(capi):
    _order(capi)
    _order(capi)
    bad, good = ConversionEvent.objects.order_by("pk")
    # An event Meta refuses whatever we do: its time more than 7 days back.
    old = int((timezone.now() - timedelta(days=8)).timestamp())
    ConversionEvent.objects.filter(pk=bad.pk).update(payload={**bad.payload, "event_time": old})
    result = send.send_catalog_events(capi.catalog.pk)
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (result.sent, result.dead, result.retried) == (1, 1, 0)
    assert bad.state == State.DEAD and bad.attempts == 0 and "7 days" in bad.last_error
    assert bad.last_error_code.startswith("100")
    assert good.state == State.SENT
    assert [e.event_id for e in _received(capi.meta["pixel_id"])] == [good.event_id]


def test_without_a_pixel_events_wait_without_spending_attempts_then_go(capi):
    from catalog.models import Catalog

    Catalog.objects.filter(pk=capi.catalog.pk).update(pixel_id="")
    _order(capi)
    result = send.send_catalog_events(capi.catalog.pk)
    row = ConversionEvent.objects.get()
    assert result.waiting == 1 and row.state == State.QUEUED and row.attempts == 0
    assert "No pixel" in row.last_error
    Catalog.objects.filter(pk=capi.catalog.pk).update(pixel_id=capi.meta["pixel_id"])
    _due_now()
    assert send.send_catalog_events(capi.catalog.pk).sent == 1


def test_a_revoked_token_keeps_events_queued_until_it_is_fixed(capi):
    from sandbox import faults

    _order(capi)
    faults.configure(token=capi.meta["access_token"], revoked=True)
    send.send_catalog_events(capi.catalog.pk)
    row = ConversionEvent.objects.get()
    assert row.state == State.QUEUED and row.attempts == 0 and "token" in row.last_error


def test_the_tenants_test_event_code_goes_with_the_events(capi):
    ConversionsSettings.objects.update_or_create(tenant=capi.catalog.tenant, defaults={"test_event_code": "TEST4242"})
    _order(capi)
    send.send_catalog_events(capi.catalog.pk)
    [event] = _received(capi.meta["pixel_id"])
    assert event.test_event_code == "TEST4242"
    assert ConversionEvent.objects.get().test_event_code == "TEST4242"


def test_an_order_without_email_or_phone_is_sent_with_what_it_has(capi):
    _order(capi, email="", phone="")
    assert send.send_catalog_events(capi.catalog.pk).sent == 1
    [event] = _received(capi.meta["pixel_id"])
    user = event.payload["user_data"]
    assert "em" not in user and "ph" not in user and {"fn", "ln", "external_id", "client_user_agent"} <= set(user)


def test_a_dead_event_retried_from_the_dead_letters_is_sent(capi):
    from sandbox import faults

    _order(capi)
    ConversionEvent.objects.update(attempts=send.MAX_ATTEMPTS - 1)
    faults.configure(fail_next=1)
    send.send_catalog_events(capi.catalog.pk)
    assert ConversionEvent.objects.get().state == State.DEAD
    assert send.retry_dead(ConversionEvent.objects.all()) == 1
    assert send.send_catalog_events(capi.catalog.pk).sent == 1


def test_a_burst_of_paid_orders_is_drained_in_one_run_and_every_purchase_reaches_the_pixel(capi):
    """The drain's path: consecutive orders/paid deliveries recorded together, one send for them all."""
    from catalog.shopify import webhooks
    from sandbox.shopify import changes

    variant = capi.sandbox_variant()
    orders = [changes.create_order(capi.shop, [(variant, 1)], email=f"buyer{n}@example.com") for n in range(5)]
    paid = WebhookEvent.objects.filter(topic="orders/paid")
    assert paid.filter(state=WebhookEvent.State.RECEIVED).count() == 5

    while webhooks.drain(capi.catalog.store_id):
        pass

    assert set(paid.values_list("state", flat=True)) == {WebhookEvent.State.PROCESSED}
    assert ConversionEvent.objects.filter(state=State.QUEUED).count() == 5
    assert send.send_catalog_events(capi.catalog.pk).sent == 5
    received = _received(capi.meta["pixel_id"])
    assert sorted(e.event_id for e in received) == sorted(str(o.legacy_id) for o in orders)
    assert all("buyer" not in bytes(body).decode() for body in paid.values_list("body", flat=True))
    # Sent: the hashed customer data is gone from every row (one UPDATE), the rest of the event kept.
    for payload in ConversionEvent.objects.values_list("payload", flat=True):
        assert payload["user_data"] == {} and payload["event_name"] == "Purchase" and payload["custom_data"]["value"]
