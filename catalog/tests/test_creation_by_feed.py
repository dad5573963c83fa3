"""Meta's ingestion rules for creating and deleting items, against the sandbox.

docs/meta-ingestion-rules.md, "Creation by feed" and "Deletion by the creating method".

New items are created by a feed, never by ``items_batch``; the Batch API carries updates
with ``allow_upsert`` off; an item is deleted by the method that created it, and only
after a replace feed listed it. Every assertion about Meta reads the sandbox over HTTP.
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import item_state
from catalog.models import Catalog, CatalogFeed, SyncBatch, Variant
from catalog.sync import confirm, feeds, push
from catalog.tests.test_sync_e2e import add_variants, catalog, meta, meta_items  # noqa: F401  (fixtures)
from sandbox.models import ItemsBatch, ProductCatalog, ProductItem

pytestmark = pytest.mark.django_db(transaction=True)
Kind = SyncBatch.Kind
Status = Variant.SyncStatus


@pytest.fixture
def by_feed(catalog):  # noqa: F811
    """The default: new items are created by a feed (the factory keeps Batch API creation for other tests)."""
    Catalog.objects.filter(pk=catalog.pk).update(batch_creation=False)
    catalog.refresh_from_db()
    return catalog


def settle(target: Catalog) -> None:
    """Poll until nothing of the catalog is in flight."""
    deadline = time.monotonic() + 60
    while SyncBatch.objects.filter(catalog=target, state__in=SyncBatch.IN_FLIGHT_STATES).exists():
        assert time.monotonic() < deadline, "Meta never finished"
        confirm.confirm_catalog(target, force=True)


def replace_feed(target: Catalog) -> None:
    feeds.push_feeds(target, Kind.REPLACE_FEED, force=True)
    settle(target)


def push_now(target: Catalog) -> push.PushReport:
    target.refresh_from_db()
    report = push.push_catalog(target)
    settle(target)
    return report


def sandbox_batches(target: Catalog):
    return ItemsBatch.objects.filter(catalog_id=ProductCatalog.pk_from_fbid(target.meta_catalog_id))


def remove(variant: Variant, target: Catalog) -> None:
    variant.product.removed_at = timezone.now() - timedelta(days=target.delete_grace_days + 1)
    variant.product.save()
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))


def test_a_new_product_reaches_meta_by_a_feed_and_never_by_items_batch(by_feed):
    first = add_variants(by_feed, 2)
    report = push_now(by_feed)  # the shard's replace feed never ran: it is due, and goes now with them
    [upload] = SyncBatch.objects.filter(catalog=by_feed)
    assert (upload.pk, upload.kind, upload.state) == (report.batches[0], Kind.REPLACE_FEED, SyncBatch.State.FINISHED)
    assert set(meta_items(by_feed)) == {v.retailer_id for v in first}

    later = add_variants(by_feed, 3)  # the next replace feed is an hour away: an update feed goes now
    report = push_now(by_feed)
    [upload] = SyncBatch.objects.filter(pk__in=report.batches)
    assert (upload.kind, upload.state, upload.item_count) == (Kind.UPDATE_FEED, SyncBatch.State.FINISHED, 3)
    assert set(meta_items(by_feed)) == {v.retailer_id for v in first + later}
    assert {v.created_via for v in Variant.objects.filter(catalog=by_feed)} == {Variant.CreatedVia.FEED}
    assert not sandbox_batches(by_feed).exists()  # no items_batch call at all

    # An update of an existing item goes by the Batch API, which may not create anything.
    Variant.objects.filter(pk=later[0].pk).update(price=Decimal("77.00"))
    item_state.refresh_variants(Variant.objects.filter(pk=later[0].pk))
    push_now(by_feed)
    [call] = sandbox_batches(by_feed)
    assert call.allow_upsert is False and [r["data"]["id"] for r in call.requests] == [later[0].retailer_id]
    assert meta_items(by_feed)[later[0].retailer_id]["price"] == "$77.00"


def test_new_items_wait_for_a_replace_feed_due_within_the_latency_target(by_feed):
    add_variants(by_feed, 1)
    replace_feed(by_feed)
    soon = timezone.now() - by_feed.effective_replace_feed_interval + timedelta(minutes=5)
    CatalogFeed.objects.filter(catalog=by_feed).update(last_replace_at=soon)
    new = add_variants(by_feed, 1)[0]
    uploads = SyncBatch.objects.filter(catalog=by_feed).count()
    assert push_now(by_feed).batches == []
    assert SyncBatch.objects.filter(catalog=by_feed).count() == uploads
    new.refresh_from_db()
    assert new.meta_status == Status.PENDING and new.retailer_id not in meta_items(by_feed)
    replace_feed(by_feed)  # the due replace feed creates it
    new.refresh_from_db()
    assert (new.meta_status, new.created_via) == (Status.SYNCED, Variant.CreatedVia.FEED)


def test_an_item_meta_lost_is_created_again_by_a_feed_not_failed(by_feed):
    variant = add_variants(by_feed, 1)[0]
    replace_feed(by_feed)
    ProductItem.objects.filter(retailer_id=variant.retailer_id).delete()  # gone from Meta behind our back
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("12.00"))
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    push_now(by_feed)  # the update is refused: allow_upsert is off
    variant.refresh_from_db()
    assert (variant.meta_status, variant.synced_hash, variant.last_error) == (Status.PENDING, "", "")
    report = push_now(by_feed)  # new again: an update feed creates it
    assert SyncBatch.objects.get(pk__in=report.batches).kind == Kind.UPDATE_FEED
    variant.refresh_from_db()
    assert variant.meta_status == Status.SYNCED and meta_items(by_feed)[variant.retailer_id]["price"] == "$12.00"


def test_a_feed_created_item_is_deleted_by_omission_once_a_replace_feed_listed_it(by_feed):
    add_variants(by_feed, 1)
    replace_feed(by_feed)
    variant = add_variants(by_feed, 1)[0]
    push_now(by_feed)  # created by an update feed: no replace feed has listed it yet
    variant.refresh_from_db()
    assert (variant.created_via, variant.in_replace_feed_at) == (Variant.CreatedVia.FEED, None)

    remove(variant, by_feed)
    push_now(by_feed)  # the Batch API never deletes what a feed created
    assert variant.retailer_id in meta_items(by_feed)
    replace_feed(by_feed)  # lists it (hidden): the feed now owns it
    variant.refresh_from_db()
    assert variant.in_replace_feed_at is not None and variant.meta_deleted_at is None
    assert meta_items(by_feed)[variant.retailer_id]["visibility"] == "staging"
    push_now(by_feed)  # marks the deletion due; still the feed's to do
    replace_feed(by_feed)  # left out: deleted by the method that created it
    variant.refresh_from_db()
    assert variant.meta_deleted_at is not None and variant.retailer_id not in meta_items(by_feed)
    assert not sandbox_batches(by_feed).exists()  # never an items_batch DELETE (nor anything else)


def test_a_delete_due_while_the_creating_upload_is_in_flight_waits_for_it(by_feed):
    add_variants(by_feed, 1)
    replace_feed(by_feed)
    variant = add_variants(by_feed, 1)[0]
    push.push_catalog(by_feed)  # the creating update feed is sent, not yet read by Meta
    remove(variant, by_feed)
    push.push_catalog(by_feed)  # nothing may touch the shard, and the item is not the Batch API's to delete
    settle(by_feed)
    variant.refresh_from_db()
    assert variant.meta_deleted_at is None and variant.retailer_id in meta_items(by_feed)
    assert not any(r.get("method") == "DELETE" for call in sandbox_batches(by_feed) for r in call.requests)


def test_a_creation_upload_carries_only_new_items_so_an_ended_sale_is_cleared(by_feed):
    """An update-only feed row's empty cell leaves Meta's old value: updates go by the Batch API."""
    on_sale = add_variants(by_feed, 1)[0]
    Variant.objects.filter(pk=on_sale.pk).update(price=Decimal("8.00"), compare_at_price=Decimal("10.00"))
    item_state.refresh_variants(Variant.objects.filter(pk=on_sale.pk))
    replace_feed(by_feed)
    assert meta_items(by_feed)[on_sale.retailer_id].get("sale_price")  # Meta shows the sale
    Variant.objects.filter(pk=on_sale.pk).update(compare_at_price=None)  # the sale ended
    item_state.refresh_variants(Variant.objects.filter(pk=on_sale.pk))
    new = add_variants(by_feed, 1)[0]
    push_now(by_feed)  # the update first, by the Batch API
    push_now(by_feed)  # then the new item, alone, by an update-only upload
    [upload] = SyncBatch.objects.filter(catalog=by_feed, kind=Kind.UPDATE_FEED)
    assert upload.item_count == 1
    held = meta_items(by_feed)
    assert new.retailer_id in held and not held[on_sale.retailer_id].get("sale_price")


def test_a_batch_created_item_is_deleted_by_the_batch_api_never_by_a_replace_feed(catalog):  # noqa: F811
    """Setting on: the Batch API created it, so a Batch API DELETE removes it, once a replace feed listed it."""
    assert catalog.batch_creation
    variant = add_variants(catalog, 1)[0]
    push_now(catalog)
    variant.refresh_from_db()
    assert (variant.created_via, variant.in_replace_feed_at) == (Variant.CreatedVia.BATCH, None)

    remove(variant, catalog)
    push_now(catalog)  # no replace feed listed it yet: the Batch API may not delete it
    assert variant.retailer_id in meta_items(catalog)
    replace_feed(catalog)  # lists it (hidden)
    replace_feed(catalog)  # and lists it again: omission is not how a batch-created item goes
    variant.refresh_from_db()
    assert variant.in_replace_feed_at is not None and variant.meta_deleted_at is None
    assert meta_items(catalog)[variant.retailer_id]["visibility"] == "staging"

    for _ in range(2):  # the first push marks the deletion due, the next sends it
        push_now(catalog)
    variant.refresh_from_db()
    assert variant.meta_deleted_at is not None and variant.retailer_id not in meta_items(catalog)
    deletes = [r for call in sandbox_batches(catalog) for r in call.requests if r.get("method") == "DELETE"]
    assert [r["data"]["id"] for r in deletes] == [variant.retailer_id]
