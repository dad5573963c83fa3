"""Shopify changes on the per-item timeline: where they came from and which fields changed (issue 19)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from catalog.models import Variant, VariantEvent
from catalog.shopify.upsert import upsert_products

from .payloads import gql_variant
from .test_upsert import T0, _record

pytestmark = pytest.mark.django_db
Kind = VariantEvent.Kind


def _events(retailer_id: str) -> list[VariantEvent]:
    variant = Variant.objects.get(retailer_id=retailer_id)
    return list(VariantEvent.objects.for_variant(variant.pk).order_by("at", "id"))


def test_a_webhooks_price_change_is_on_that_variants_timeline_with_the_field(store, catalog):
    upsert_products(store, [_record()], observed_at=T0, source="import")
    newer = _record(
        variants=[
            gql_variant(44, price="30.00", updated_at="2025-03-05T00:00:00Z"),
            gql_variant(45, options=(("Size", "L"),)),
        ],
        updated_at="2025-03-05T00:00:00Z",
    )
    upsert_products(store, [newer], observed_at=T0 + timedelta(days=1), source="webhook")

    changed = _events("44")
    assert [(e.kind, e.detail) for e in changed if e.kind == Kind.SHOPIFY] == [
        (Kind.SHOPIFY, {"source": "webhook", "fields": ["price"]})
    ]
    assert changed[-1].kind == Kind.CHANGED and changed[-1].detail == {"status": "PENDING"}  # payload changed
    assert not [e for e in _events("45") if e.kind == Kind.SHOPIFY]  # unchanged: nothing said


def test_a_product_level_change_reaches_every_variants_timeline(store, catalog):
    upsert_products(store, [_record()], observed_at=T0, source="import")
    upsert_products(
        store,
        [_record(title="A new title", updated_at="2025-03-05T00:00:00Z")],
        observed_at=T0 + timedelta(days=1),
        source="import",
    )
    for rid in ("44", "45"):
        [event] = [e for e in _events(rid) if e.kind == Kind.SHOPIFY]
        assert event.detail["source"] == "import" and "product title" in event.detail["fields"]
