"""Webhook emitter: record one delivery per subscription, sign it, POST it over real HTTP.

At least once: a delivery stays due until a receiver answers 2xx in time, with up to
`MAX_ATTEMPTS` attempts (Shopify: 8 over 4 hours; here the backoff base is a setting, 0 in
tests), after which an Admin-API subscription is deleted as Shopify does. On demand, per shop:
extra copies of every delivery (same `X-Shopify-Webhook-Id` and `X-Shopify-Event-Id`, as a
retried delivery has), and held delivery that is flushed newest-first (out of order).
"""

import base64
import datetime as dt
import hashlib
import hmac
import logging
import uuid
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import payloads
from .models import Shop, WebhookDelivery, WebhookSubscription
from .topics import ENUM_FOR_HEADER

logger = logging.getLogger(__name__)

# Shopify retries a failed delivery 8 times, then deletes an Admin-API subscription.
MAX_ATTEMPTS = 8
USER_AGENT = "Shopify-Captain-Hook"


def sign(body: bytes, secret: str) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256(secret, raw body)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _filtered(payload: dict[str, Any], include_fields: list[str]) -> dict[str, Any]:
    if not include_fields:
        return payload
    return {key: value for key, value in payload.items() if key in include_fields}


def _for_version(topic: str, payload: dict[str, Any], api_version: str) -> dict[str, Any]:
    """The body as the subscription's API version shapes it (older versions lack newer keys)."""
    if topic.startswith("products/") and "category" in payload and api_version < payloads.CATEGORY_FROM_VERSION:
        return {key: value for key, value in payload.items() if key != "category"}
    return payload


def emit(
    shop: Shop,
    topic: str,
    payload: dict[str, Any],
    *,
    event_id: uuid.UUID | None = None,
    triggered_at: dt.datetime | None = None,
) -> list[WebhookDelivery]:
    """Queue `topic` (``products/update``) for every subscription of the shop; deliver after commit."""
    subscriptions = list(WebhookSubscription.objects.filter(shop=shop, topic=ENUM_FOR_HEADER[topic]))
    if not subscriptions:
        return []
    event_id = event_id or uuid.uuid4()
    triggered_at = triggered_at or timezone.now()
    deliveries = []
    for subscription in subscriptions:
        body = payloads.dumps(
            _filtered(_for_version(topic, payload, subscription.api_version), subscription.include_fields)
        )
        deliveries.append(
            WebhookDelivery(
                shop=shop,
                subscription=subscription,
                topic=topic,
                callback_url=subscription.callback_url,
                api_version=subscription.api_version,
                event_id=event_id,
                triggered_at=triggered_at,
                body=body,
                hmac=sign(body, shop.webhook_secret),
            )
        )
    WebhookDelivery.objects.bulk_create(deliveries)
    if shop.webhook_mode == Shop.WebhookMode.IMMEDIATE:
        # Never call out while a transaction is open: deliver once the change is committed.
        transaction.on_commit(lambda: deliver_due(shop.pk), robust=True)
    return deliveries


def headers_for(delivery: WebhookDelivery, shop: Shop) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Shopify-Topic": delivery.topic,
        "X-Shopify-Hmac-Sha256": delivery.hmac,
        "X-Shopify-Shop-Domain": shop.domain,
        "X-Shopify-API-Version": delivery.api_version,
        "X-Shopify-Webhook-Id": str(delivery.webhook_id),
        "X-Shopify-Event-Id": str(delivery.event_id),
        "X-Shopify-Triggered-At": delivery.triggered_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def _post(delivery: WebhookDelivery, shop: Shop) -> tuple[int | None, str]:
    try:
        response = requests.post(
            delivery.callback_url,
            data=bytes(delivery.body),
            headers=headers_for(delivery, shop),
            timeout=settings.SANDBOX_SHOPIFY_WEBHOOK_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return response.status_code, "" if 200 <= response.status_code < 300 else response.text[:500]


def deliver_due(shop_id: int, *, force: bool = False) -> dict[str, int]:
    """Send every delivery of the shop that is due (held ones too when `force`); return counts."""
    shop = Shop.objects.get(pk=shop_id)
    now = timezone.now()
    due = WebhookDelivery.objects.filter(
        shop=shop, status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING]
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    if shop.webhook_mode == Shop.WebhookMode.HELD and not force:
        return {"delivered": 0, "failed": 0}
    # Out of order on demand: newest first.
    order = ("-created_at", "-pk") if shop.webhook_shuffle else ("created_at", "pk")
    counts = {"delivered": 0, "failed": 0}
    for delivery in list(due.order_by(*order)):
        ok = attempt(delivery, shop)
        counts["delivered" if ok else "failed"] += 1
    return counts


def attempt(delivery: WebhookDelivery, shop: Shop) -> bool:
    """POST one delivery (plus the shop's configured duplicates) and record the outcome."""
    status, error = None, ""
    for _copy in range(1 + shop.webhook_duplicates):
        status, error = _post(delivery, shop)
        if status is None or not 200 <= status < 300:
            break
    ok = status is not None and 200 <= status < 300
    now = timezone.now()
    attempts = delivery.attempts + 1
    if ok:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.DELIVERED,
            attempts=attempts,
            response_status=status,
            last_error="",
            delivered_at=now,
            next_attempt_at=None,
        )
        if delivery.subscription_id:
            WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(consecutive_failures=0)
        return True
    final = attempts >= MAX_ATTEMPTS
    backoff = settings.SANDBOX_SHOPIFY_WEBHOOK_RETRY_BASE_SECONDS * (2 ** (attempts - 1))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED if final else WebhookDelivery.Status.RETRYING,
        attempts=attempts,
        response_status=status,
        last_error=error or f"HTTP {status}",
        next_attempt_at=None if final else now + dt.timedelta(seconds=backoff),
    )
    logger.info("webhook %s to shop %s failed (attempt %s): %s", delivery.topic, shop.pk, attempts, error)
    if delivery.subscription_id:
        WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        WebhookSubscription.objects.filter(pk=delivery.subscription_id, consecutive_failures__gte=MAX_ATTEMPTS).delete()
    return False


def flush(shop: Shop) -> dict[str, int]:
    """Deliver everything held or due now (ignores backoff), in the shop's order."""
    WebhookDelivery.objects.filter(
        shop=shop, status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING]
    ).update(next_attempt_at=None)
    return deliver_due(shop.pk, force=True)


def redeliver(delivery: WebhookDelivery) -> bool:
    """Send a delivery again with its original ids and body (a Shopify retry / duplicate)."""
    return attempt(delivery, delivery.shop)
