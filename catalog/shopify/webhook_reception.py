"""Receiving a Shopify webhook: verify, de-duplicate, store durably, answer fast.

Within Shopify's 5-second limit the view only checks the HMAC over the raw body, inserts
one ``WebhookEvent`` row (unique per store and event id, so retries and duplicate events
are stored once) and makes sure a drain of the store is queued (``webhook_drain``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError
from django.utils import timezone

from catalog.models import WebhookEvent

from . import signing_keys
from .webhook_drain import request_drain
from .webhook_handlers import HANDLERS, parse_time

logger = logging.getLogger(__name__)


# Header names (case-insensitive in Django's request.headers).
TOPIC = "X-Shopify-Topic"


HMAC = "X-Shopify-Hmac-Sha256"


SHOP = "X-Shopify-Shop-Domain"


API_VERSION = "X-Shopify-API-Version"


WEBHOOK_ID = "X-Shopify-Webhook-Id"


EVENT_ID = "X-Shopify-Event-Id"


TRIGGERED_AT = "X-Shopify-Triggered-At"


KEPT_HEADERS = (TOPIC, SHOP, API_VERSION, WEBHOOK_ID, EVENT_ID, TRIGGERED_AT, "X-Shopify-Name", "X-Shopify-Sub-Topic")


# Topics stored for another consumer and not processed here (none today: ``orders/paid``
# is handed to the Conversions API by its handler below).
KEPT_TOPICS: dict[str, str] = {}


def verify_hmac(raw_body: bytes, header_value: str | None, secret: str) -> bool:
    """Shopify's signature: base64(HMAC-SHA256(secret, raw body)), compared in constant time."""
    if not header_value or not secret:
        return False
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    return hmac.compare_digest(expected, header_value.strip().encode("utf-8", errors="replace"))


@dataclass
class Reception:
    """What the view answers: an HTTP status, a short message, and the stored event's pk if any."""

    status: int
    message: str
    event_id: int | None = None


def receive(raw_body: bytes, headers: Mapping[str, str]) -> Reception:
    """Verify and store one delivery; make sure a drain will process it. Never calls Shopify.

    The hot path is two statements in autocommit: the event's ``INSERT ... ON CONFLICT DO
    NOTHING`` (durable before we answer 200; the unique constraint de-duplicates) and the
    drain request's (a task is queued only when no drain is pending). The store's key comes
    from a short-lived in-memory copy (``signing_keys``).
    """
    shop_domain = (headers.get(SHOP) or "").strip().lower()
    signature = headers.get(HMAC)
    if not signature or not shop_domain:
        return Reception(401, "Missing signature or shop domain.")
    key = _verified_key(raw_body, signature, shop_domain)
    if key is None:
        # Same answer for an unknown shop and a bad signature: nothing to learn from it.
        logger.warning("Rejected webhook for %r: bad signature or unknown shop", shop_domain[:100])
        return Reception(401, "Invalid signature.")
    topic = (headers.get(TOPIC) or "").strip().lower()[:100]
    if not topic:
        return Reception(400, "Missing X-Shopify-Topic.")
    event_id = (headers.get(EVENT_ID) or "").strip()[:100]
    webhook_id = (headers.get(WEBHOOK_ID) or "").strip()[:100]
    # Without ids (never from Shopify), identical bodies of one topic are the same event.
    dedup_key = event_id or webhook_id or "sha256:" + hashlib.sha256(topic.encode() + b"\n" + raw_body).hexdigest()[:64]

    state, note, status, message = WebhookEvent.State.RECEIVED, "", 200, "Queued."
    try:
        payload = json.loads(raw_body)
        if not isinstance(payload, dict):
            raise ValueError("the body is not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        state, note, status, message = WebhookEvent.State.FAILED, f"Malformed JSON: {exc}", 400, "Malformed JSON."
    else:
        if topic in KEPT_TOPICS:
            state, note, message = WebhookEvent.State.IGNORED, KEPT_TOPICS[topic], "Stored."
        elif topic not in HANDLERS:
            state, note, message = WebhookEvent.State.IGNORED, f"Unknown topic {topic!r}: recorded only.", "Recorded."
    fields = {
        "topic": topic,
        "event_id": event_id,
        "webhook_id": webhook_id,
        "dedup_key": dedup_key,
        "api_version": (headers.get(API_VERSION) or "")[:16],
        "triggered_at": parse_time(headers.get(TRIGGERED_AT)),
        "body": raw_body,
        "headers": {name: headers[name][:500] for name in KEPT_HEADERS if headers.get(name)},
        "state": state,
        "error": note,
        "processed_at": timezone.now() if state != WebhookEvent.State.RECEIVED else None,
    }
    try:
        pk = WebhookEvent.objects.insert_new(WebhookEvent(tenant_id=key.tenant_id, store_id=key.store_id, **fields))
    except IntegrityError:
        # The kept key names a store deleted meanwhile (foreign key): look again, once.
        signing_keys.forget(shop_domain)
        key = _verified_key(raw_body, signature, shop_domain)
        if key is None:
            return Reception(401, "Invalid signature.")
        pk = WebhookEvent.objects.insert_new(WebhookEvent(tenant_id=key.tenant_id, store_id=key.store_id, **fields))
    if pk is None:
        return Reception(200, "Duplicate delivery; already stored.")
    if state == WebhookEvent.State.RECEIVED:
        request_drain(key.store_id, key.tenant_id)
    return Reception(status, message, pk)


def _verified_key(raw_body: bytes, signature: str, shop_domain: str) -> signing_keys.StoreKey | None:
    """The store key whose secret signed ``raw_body``; a kept secret that fails is re-read once."""
    key = signing_keys.lookup(shop_domain)
    if key is not None and verify_hmac(raw_body, signature, key.secret):
        return key
    if key is None:
        return None  # lookup() already read the database: the shop is unknown
    # Perhaps rotated since we kept it: the database decides.
    key = signing_keys.lookup(shop_domain, fresh=True)
    if key is not None and verify_hmac(raw_body, signature, key.secret):
        return key
    return None
