"""Auto-hold of a live item whose update Meta rejects (issue 19 part 5): real HTTP against the sandbox.

Meta keeps the older version, so every replace feed must list the item again (leaving it out
would delete that version), but re-sending the very version Meta rejected says nothing new:
no "Sent" / "Rejected by Meta" pair per feed, and the Batch API never sends it until the data
changes or staff retry it.
"""

from __future__ import annotations

import pytest

from catalog import item_state
from catalog.models import SyncBatch, Variant, VariantEvent
from catalog.sync import run
from catalog.tests.factories import ProductFactory, VariantFactory
from catalog.tests.test_sync_e2e import catalog, meta, push_and_confirm  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)
Status = Variant.SyncStatus
Event = VariantEvent.Kind
# Passes our checks (an http address) but Meta's image host rule refuses a host without a dot.
REFUSED_IMAGE = "http://intranet/image.png"


def _live_then_rejected_update(catalog) -> Variant:  # noqa: F811
    product = ProductFactory(
        tenant=catalog.tenant,
        store=catalog.store,
        title="Linen Shirt",
        description_html="<p>A breathable linen shirt for warm days.</p>",
        images=[{"id": 1, "src": "https://cdn.example.com/linen.jpg"}],
    )
    variant = VariantFactory(product=product, catalog=catalog)
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    push_and_confirm(catalog)
    variant.refresh_from_db()
    assert variant.meta_status == Status.SYNCED and variant.synced_hash
    product.images = [{"id": 1, "src": REFUSED_IMAGE}]
    product.save(update_fields=["images"])
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    push_and_confirm(catalog)
    variant.refresh_from_db()
    assert (variant.meta_status, variant.failure_source) == (Status.FAILED, Variant.FailureSource.META_BATCH)
    assert variant.failed_hash == variant.payload_hash != variant.synced_hash  # Meta holds the older version
    return variant


def _sent_and_rejected(variant: Variant) -> list[str]:
    kinds = VariantEvent.objects.for_variant(variant.pk).order_by("at", "id").values_list("kind", flat=True)
    return [kind for kind in kinds if kind in (Event.SENT, Event.REJECTED)]


def _batch_calls_with(variant: Variant) -> int:
    from sandbox.models import ItemsBatch

    return sum(
        1
        for requests in ItemsBatch.objects.values_list("requests", flat=True)
        if any((r.get("data") or {}).get("id") == variant.retailer_id for r in requests or [])
    )


def test_a_live_items_rejected_update_is_listed_by_each_replace_feed_quietly_until_its_data_changes(catalog):  # noqa: F811
    item = _live_then_rejected_update(catalog)
    assert _sent_and_rejected(item) == [Event.SENT, Event.SENT, Event.REJECTED]  # created, then the refused update
    batch_calls = _batch_calls_with(item)

    for _ in range(3):
        run.sync_now(catalog, mode="replace_feed", wait=True, timeout=60)
        push_and_confirm(catalog)  # nothing for the Batch API: the item is not PENDING
        feed = SyncBatch.objects.filter(catalog=catalog, kind=SyncBatch.Kind.REPLACE_FEED).latest("pk")
        assert feed.item_count == 1  # listed: left out, Meta's older version would be deleted

    item.refresh_from_db()
    assert (item.meta_status, item.last_error_code, item.failed_hash) == (
        Status.FAILED,
        "META_REJECTED",
        item.payload_hash,
    )
    assert "URL Incorrectly Formatted" in item.last_error  # Meta's message (its latest wording: the feed's)
    assert _sent_and_rejected(item) == [Event.SENT, Event.SENT, Event.REJECTED]  # no pair per feed
    assert _batch_calls_with(item) == batch_calls  # never re-sent by the Batch API

    item.price = item.price + 1  # a data change releases it: sent again, and said so
    item.save(update_fields=["price"])
    item_state.refresh_variants(Variant.objects.filter(pk=item.pk))
    push_and_confirm(catalog)
    item.refresh_from_db()
    assert _batch_calls_with(item) == batch_calls + 1
    assert _sent_and_rejected(item)[3:] == [Event.SENT, Event.REJECTED]  # the image is still refused
    assert item.meta_status == Status.FAILED and item.failed_hash == item.payload_hash


def test_a_staff_retry_of_a_live_items_rejected_update_is_sent_and_on_the_timeline(catalog):  # noqa: F811
    item = _live_then_rejected_update(catalog)
    assert item_state.retry_meta_failures(Variant.objects.filter(pk=item.pk)) == 1
    push_and_confirm(catalog)
    item.refresh_from_db()
    assert _sent_and_rejected(item) == [Event.SENT, Event.SENT, Event.REJECTED, Event.SENT, Event.REJECTED]
    assert item.meta_status == Status.FAILED and item.last_error_code == "META_REJECTED"
