"""Shopify changes on the per-item timeline: where they came from and which fields changed (issue 19)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Variant, VariantEvent
from catalog.shopify import records
from catalog.shopify.importer import import_store
from catalog.shopify.upsert import LOOKUP_CHUNK, upsert_orphan_variants, upsert_products

from .payloads import gql_product, gql_variant
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
        (Kind.SHOPIFY, {"source": "import", "new": True}),
        (Kind.SHOPIFY, {"source": "webhook", "fields": ["price"]}),
    ]
    assert changed[-1].kind == Kind.CHANGED and changed[-1].detail == {"status": "PENDING"}  # payload changed
    assert [e.detail for e in _events("45") if e.kind == Kind.SHOPIFY] == [{"source": "import", "new": True}]


def test_a_product_level_change_reaches_every_variants_timeline(store, catalog):
    upsert_products(store, [_record()], observed_at=T0, source="import")
    upsert_products(
        store,
        [_record(title="A new title", updated_at="2025-03-05T00:00:00Z")],
        observed_at=T0 + timedelta(days=1),
        source="import",
    )
    for rid in ("44", "45"):
        [event] = [e for e in _events(rid) if e.kind == Kind.SHOPIFY and not e.detail.get("new")]
        assert event.detail["source"] == "import" and "product title" in event.detail["fields"]


# -- new variants -----------------------------------------------------------------------------------


def test_an_imported_products_variants_each_get_a_shopify_change_received(store, catalog):
    upsert_products(store, [_record()], observed_at=T0, source="import")
    for rid in ("44", "45"):
        [event] = [e for e in _events(rid) if e.kind == Kind.SHOPIFY]
        assert (event.detail, event.message) == ({"source": "import", "new": True}, "New variant")
        assert event.catalog_id == catalog.pk and event.product_id == Variant.objects.get(retailer_id=rid).product_id


def test_a_variant_added_to_a_stored_product_gets_a_shopify_change_received(store, catalog):
    upsert_products(store, [_record()], observed_at=T0, source="import")
    grown = _record(
        variants=[gql_variant(44), gql_variant(45, options=(("Size", "L"),)), gql_variant(46, options=(("Size", "S"),))]
    )
    upsert_products(store, [grown], observed_at=T0 + timedelta(days=1), source="webhook")
    [event] = [e for e in _events("46") if e.kind == Kind.SHOPIFY]
    assert event.detail == {"source": "webhook", "new": True}
    assert len([e for e in _events("44") if e.kind == Kind.SHOPIFY]) == 1  # its own "new", nothing since


def test_a_variant_imported_apart_from_its_product_gets_one_too(store, catalog):
    upsert_products(store, [_record()], observed_at=T0, source="import")
    orphan = records.product_from_graphql(gql_product(7, [gql_variant(47, options=(("Size", "XL"),))])).variants
    upsert_orphan_variants(store, orphan, observed_at=T0, source="import")
    [event] = [e for e in _events("47") if e.kind == Kind.SHOPIFY]
    assert event.detail == {"source": "import", "new": True}


@pytest.mark.parametrize("size", [50, 5000])
def test_new_variants_events_are_one_insert_per_chunk_never_one_per_variant(store, catalog, size):
    per_product = 50
    batch = [
        records.product_from_graphql(
            gql_product(1000 + p, [gql_variant(10_000_000 + p * per_product + v) for v in range(per_product)])
        )
        for p in range(size // per_product)
    ]
    with CaptureQueriesContext(connection) as queries:
        upsert_products(store, batch, observed_at=T0, source="import")
    inserts = [q for q in queries.captured_queries if "INSERT INTO" in q["sql"] and "variantevent" in q["sql"]]
    # PostgreSQL: one statement whatever the size (the ids as one array); SQLite: 1 at 50, 6 at 5,000.
    assert len(inserts) == (1 if connection.vendor == "postgresql" else -(-size // LOOKUP_CHUNK))
    assert VariantEvent.objects.filter(kind=Kind.SHOPIFY, detail__new=True).count() == size


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bulk", [False, True])
def test_every_variant_of_an_import_from_the_sandbox_is_on_its_timeline_once(connected, bulk):
    c = connected(6, big_product_every=3, big_product_variants=30)  # big products: variants over several pages
    import_store(c.store, bulk=bulk)
    variants = set(Variant.objects.values_list("pk", flat=True))
    events = list(VariantEvent.objects.filter(kind=Kind.SHOPIFY).values_list("variant_id", "detail"))
    assert sorted(pk for pk, _ in events) == sorted(variants) and len(variants) > 30
    assert {(d["source"], d["new"]) for _, d in events} == {("import", True)}
    import_store(c.store, bulk=bulk)  # unchanged: nothing more said
    assert VariantEvent.objects.filter(kind=Kind.SHOPIFY).count() == len(variants)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bulk", [False, True])
def test_a_new_variant_our_checks_fail_says_so_on_its_timeline(connected, bulk):
    """Imported from the sandbox with a zero price: "new variant", then why it is not sent to Meta."""
    from sandbox.shopify.models import Product as SandboxProduct
    from sandbox.shopify.models import Variant as SandboxVariant

    c = connected(4)
    live = SandboxProduct.objects.filter(
        shop=c.shop, status=SandboxProduct.Status.ACTIVE, published_at__isnull=False
    ).first()
    assert live is not None
    bad = SandboxVariant.objects.filter(product=live).order_by("pk").first()
    SandboxVariant.objects.filter(pk=bad.pk).update(price=0)

    import_store(c.store, bulk=bulk)

    variant = Variant.objects.get(shopify_variant_id=bad.legacy_id)
    assert (variant.meta_status, variant.failure_source) == (Variant.SyncStatus.FAILED, Variant.FailureSource.LOCAL)
    events = _events(variant.retailer_id)
    assert [e.kind for e in events] == [Kind.SHOPIFY, Kind.INVALID]
    assert events[1].message == variant.last_error[:500] and events[1].detail == {"status": "FAILED"}
    # The valid ones were only received: nothing was caught before sending.
    assert not VariantEvent.objects.filter(kind=Kind.INVALID).exclude(variant_id=variant.pk).exists()
    import_store(c.store, bulk=bulk)  # unchanged: nothing more said
    assert len(_events(variant.retailer_id)) == 2
