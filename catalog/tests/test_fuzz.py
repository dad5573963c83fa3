"""Fuzzing (hypothesis): the webhook endpoint and the Graph error parser take anything without a 5xx.

The mapping (any Shopify product -> a valid item or a clear FAILED) is fuzzed in
``test_item_state.py`` and ``shopify/test_properties.py``.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.meta import errors
from catalog.models import WebhookEvent
from catalog.shopify import signing_keys

from .shopify.payloads import sign

URL = "/shopify/webhooks/"
FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=15), children, max_size=4),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=600),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["id", "title", "variants", "updated_at", "images", "status"]), json_values, max_size=6
    ).map(lambda v: json.dumps(v).encode()),
)
topics = st.one_of(
    st.sampled_from(
        [
            "products/update",
            "products/create",
            "products/delete",
            "inventory_levels/update",
            "collections/update",
            "app/uninstalled",
            "shop/update",
            "orders/paid",
        ]
    ),
    header_text,
)


def _headers(**values) -> dict:
    return {"HTTP_" + k.upper().replace("-", "_"): v for k, v in values.items() if v is not None}


@pytest.mark.django_db
@FUZZ
@given(
    body=bodies,
    topic=topics,
    signature=st.one_of(st.none(), header_text),
    shop=st.one_of(st.none(), header_text),
    event_id=st.one_of(st.none(), header_text),
)
def test_unsigned_or_badly_signed_deliveries_get_a_4xx_and_store_nothing(
    client, store, body, topic, signature, shop, event_id
):
    before = WebhookEvent.objects.count()
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        **_headers(
            **{
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": signature,
                "X-Shopify-Shop-Domain": shop if shop is not None else store.shop_domain,
                "X-Shopify-Event-Id": event_id,
            }
        ),
    )
    assert 400 <= response.status_code < 500
    assert WebhookEvent.objects.count() == before


@pytest.mark.django_db
@FUZZ
@given(
    body=bodies,
    topic=topics,
    event_id=st.one_of(st.none(), header_text),
    triggered_at=st.one_of(st.none(), header_text),
    version=st.one_of(st.none(), header_text),
)
def test_signed_deliveries_of_any_shape_are_kept_or_refused_clearly_never_a_5xx(
    client,
    store,
    body,
    topic,
    event_id,
    triggered_at,
    version,
):
    signing_keys.forget(store.shop_domain)
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        **_headers(
            **{
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": sign(body, store.webhook_secret),
                "X-Shopify-Shop-Domain": store.shop_domain,
                "X-Shopify-Event-Id": event_id,
                "X-Shopify-Triggered-At": triggered_at,
                "X-Shopify-API-Version": version,
            }
        ),
    )
    assert response.status_code < 500
    if topic.strip():
        # Signed by the store: stored (even a malformed body, as FAILED with the reason), never lost.
        assert response.status_code in (200, 400)
        assert WebhookEvent.objects.filter(store=store).exists()
    else:
        assert response.status_code == 400


@FUZZ
@given(envelope=json_values, status=st.one_of(st.none(), st.integers(100, 599)), retry=st.floats(0, 1e6))
def test_any_graph_error_envelope_becomes_a_typed_error(envelope, status, retry):
    error = errors.error_from_envelope(envelope, http_status=status, retry_after=retry)
    assert isinstance(error, errors.GraphAPIError)
    assert type(error) in (
        errors.AuthError,
        errors.PermissionDenied,
        errors.RateLimited,
        errors.TransientError,
        errors.InvalidRequest,
    )
    assert str(error)


@FUZZ
@given(
    error=st.dictionaries(
        st.sampled_from(
            ["code", "error_subcode", "message", "type", "is_transient", "error_data", "fbtrace_id", "error_user_msg"]
        ),
        json_values,
    )
)
def test_any_graph_error_object_becomes_a_typed_error(error):
    assert isinstance(errors.error_from_envelope(error, http_status=400), errors.GraphAPIError)


@FUZZ
@given(status=st.integers(100, 599), text=st.text(max_size=500))
def test_any_non_json_graph_failure_becomes_a_typed_error(status, text):
    error = errors.error_from_http(status, text)
    assert isinstance(error, errors.GraphAPIError)
    if status >= 500:
        assert isinstance(error, errors.TransientError)
