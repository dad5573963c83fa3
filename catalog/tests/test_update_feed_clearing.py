"""An update-only feed cannot clear a field; nothing is shown SYNCED that Meta does not hold (issue 22).

An update-only upload reads an empty cell as "no change" (Meta, and the sandbox's
``sandbox/graph/feeds.py`` ``_row_item``), while the Batch API sends an absent optional
field empty, which clears it. So an item Meta holds whose payload lost a clearable field
(a sale that ended, a colour removed) is never carried by an update-only upload: it stays
PENDING for the Batch API or the next replace feed. The masks of the clearable fields each
payload carries (``Variant.payload_mask``, ``in_flight_mask``, ``held_mask``) say which.
Everything about Meta is read back from the sandbox over real HTTP.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_q.models import OrmQ

from catalog import item_state, items, tasks
from catalog.meta.client import GraphClient
from catalog.models import Catalog, SyncBatch, Variant, VariantEvent
from catalog.sync import budget, claim, push, requested_push
from catalog.tests.test_push_on_change import catalog, confirm_all, synced_catalog  # noqa: F401 (fixture)
from catalog.tests.test_sync_e2e import meta  # noqa: F401 (the sandbox business fixture)
from sandbox.models import ItemsBatch

pytestmark = pytest.mark.django_db(transaction=True)

Kind = SyncBatch.Kind
Status = Variant.SyncStatus
SALE = items.clearable_bits(["sale_price"])
COLOR = items.clearable_bits(["color"])


def on_sale_in_red(variants: list[Variant]) -> None:
    """Give each variant a sale (compare-at above the price) and a colour, refreshed."""
    Variant.objects.filter(pk__in=[v.pk for v in variants]).update(
        price=Decimal("8.00"), compare_at_price=Decimal("10.00"), options={"Color": "Red"}
    )
    item_state.refresh_variants(Variant.objects.filter(pk__in=[v.pk for v in variants]))


def held_in_meta(catalog: Catalog) -> dict[str, dict]:  # noqa: F811
    client = GraphClient(catalog.connection.access_token)
    rows = client.paginate(f"{catalog.meta_catalog_id}/products", fields="retailer_id,price,sale_price,color")
    return {row["retailer_id"]: row for row in rows}


def status(variant: Variant) -> str:
    variant.refresh_from_db()
    return variant.meta_status


def test_an_ended_sale_with_a_tight_budget_leaves_meta_with_no_sale_price(catalog, settings):  # noqa: F811
    """The volatile call clears the sale price; a colour removed waits for a call that clears it."""
    sale_ended, colour_removed = synced_catalog(catalog, products=2, per_product=1)
    on_sale_in_red([sale_ended, colour_removed])
    push.push_catalog(catalog)
    confirm_all(catalog)
    held = held_in_meta(catalog)
    assert {held[v.retailer_id].get("color") for v in (sale_ended, colour_removed)} == {"Red"}
    assert all(held[v.retailer_id].get("sale_price") for v in (sale_ended, colour_removed))
    OrmQ.objects.all().delete()

    settings.SYNC_BATCH_CALLS_PER_HOUR = 5  # two calls spent this hour: tight
    assert budget.for_catalog(catalog).tight
    Variant.objects.filter(pk=sale_ended.pk).update(compare_at_price=None)  # the sale ends
    Variant.objects.filter(pk=colour_removed.pk).update(compare_at_price=None, options={})  # and the colour goes
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    result = tasks.push_requested(catalog.pk)  # price and stock only (sale price cleared), then a feed
    assert result["tight"] and result["calls"] == 1
    confirm_all(catalog)
    tasks.push_feed(catalog.pk, Kind.UPDATE_FEED, True)
    confirm_all(catalog)

    held = held_in_meta(catalog)
    assert not held[sale_ended.retailer_id].get("sale_price")
    assert status(sale_ended) == Status.SYNCED  # true: Meta holds exactly this payload
    assert not held[colour_removed.retailer_id].get("sale_price")
    assert held[colour_removed.retailer_id].get("color") == "Red"  # no update-only row can clear it
    assert status(colour_removed) == Status.PENDING  # so it is not shown SYNCED
    assert colour_removed.in_flight_batch_id is None and requested_push.still_waiting(catalog)
    upload = SyncBatch.objects.get(catalog=catalog, kind=Kind.UPDATE_FEED)
    assert upload.item_count == 1  # the colour's item was not carried

    settings.SYNC_BATCH_CALLS_PER_HOUR = 100_000  # the budget allows the Batch API again
    calls_before = ItemsBatch.objects.count()
    tasks.push_requested(catalog.pk)
    confirm_all(catalog)
    assert ItemsBatch.objects.count() == calls_before + 1
    assert not held_in_meta(catalog)[colour_removed.retailer_id].get("color")
    assert status(colour_removed) == Status.SYNCED


def test_an_item_whose_clearable_field_went_away_is_left_to_the_replace_feed(catalog):  # noqa: F811
    """A backlog sent by an update-only upload: the items that lost a field go by the replace feed.

    The update-only snapshot that adopts a shard's items must list them all (catalog.sync.sharding):
    it does, and they stay PENDING whatever Meta makes of their rows.
    """
    sale_ended, colour_removed, repriced = synced_catalog(catalog, products=3, per_product=1)
    on_sale_in_red([sale_ended, colour_removed])
    push.push_catalog(catalog)
    confirm_all(catalog)
    Variant.objects.filter(pk=sale_ended.pk).update(compare_at_price=None)
    Variant.objects.filter(pk=colour_removed.pk).update(options={})
    Variant.objects.filter(pk=repriced.pk).update(price=Decimal("12.00"))
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))

    tasks.push_feed(catalog.pk, Kind.UPDATE_FEED, True)  # what a backlog beyond the budget does
    confirm_all(catalog)
    [upload] = SyncBatch.objects.filter(catalog=catalog, kind=Kind.UPDATE_FEED)
    assert (upload.item_count, upload.stats["rows"]) == (1, 1)  # the repriced item alone
    assert status(repriced) == Status.SYNCED
    held = held_in_meta(catalog)
    assert held[sale_ended.retailer_id].get("sale_price") and held[colour_removed.retailer_id].get("color")
    assert (status(sale_ended), status(colour_removed)) == (Status.PENDING, Status.PENDING)
    # Not carried again and again: another update-only upload finds nothing to carry.
    tasks.push_feed(catalog.pk, Kind.UPDATE_FEED, True)
    assert SyncBatch.objects.filter(catalog=catalog, kind=Kind.UPDATE_FEED).count() == 1

    # The shard's first replace feed adopts what the Batch API created: an update-only snapshot.
    tasks.push_feed(catalog.pk, Kind.REPLACE_FEED, True)
    confirm_all(catalog)
    adopting = SyncBatch.objects.get(catalog=catalog, kind=Kind.REPLACE_FEED)
    assert adopting.stats["adopting"] and adopting.stats["rows"] == 3
    held = held_in_meta(catalog)
    assert held[colour_removed.retailer_id].get("color") == "Red"  # accepted, and the colour stayed
    assert status(colour_removed) == Status.PENDING
    assert adopting.stale_count == 1  # so a push follows
    accepted = VariantEvent.objects.get(variant_id=colour_removed.pk, batch_id=adopting.pk, kind="accepted")
    assert accepted.message == item_state.KEPT_MESSAGE  # its timeline says why it goes again
    # Meta read the ended sale's row merged with the sale price it kept (now the price itself) and
    # rejected it: not the merchant's doing, so PENDING to go whole, not FAILED.
    assert held[sale_ended.retailer_id].get("sale_price")
    sale_ended.refresh_from_db()
    assert (sale_ended.meta_status, sale_ended.failure_source) == (Status.PENDING, "")

    tasks.push_feed(catalog.pk, Kind.REPLACE_FEED, True)  # a replace feed replaces the whole item
    confirm_all(catalog)
    held = held_in_meta(catalog)
    assert not held[sale_ended.retailer_id].get("sale_price") and not held[colour_removed.retailer_id].get("color")
    for variant, gone in ((sale_ended, SALE), (colour_removed, COLOR)):
        variant.refresh_from_db()
        assert (variant.meta_status, variant.held_mask & gone) == (Status.SYNCED, 0)
        assert variant.held_mask == variant.payload_mask  # Meta holds exactly the payload again


def test_the_masks_follow_the_refresh_the_claim_and_the_acceptance(catalog):  # noqa: F811
    [variant] = synced_catalog(catalog, products=1, per_product=1)
    variant.refresh_from_db()
    assert variant.held_mask == variant.payload_mask  # the Batch API sent exactly the payload
    on_sale_in_red([variant])
    variant.refresh_from_db()
    assert variant.payload_mask & (SALE | COLOR) == SALE | COLOR  # refresh: the new payload's fields
    assert variant.held_mask & (SALE | COLOR) == 0  # Meta does not hold them yet

    batch = claim.claim_items_batch(catalog, 0)
    variant.refresh_from_db()
    assert variant.in_flight_mask == variant.payload_mask  # the claim: what goes
    assert variant.held_mask & (SALE | COLOR) == 0
    push.send_items_batch(catalog, batch, GraphClient(catalog.connection.access_token))
    confirm_all(catalog)
    variant.refresh_from_db()
    assert variant.meta_status == Status.SYNCED
    assert variant.held_mask == variant.payload_mask and variant.held_mask & (SALE | COLOR) == SALE | COLOR

    Variant.objects.filter(pk=variant.pk).update(compare_at_price=None, options={})
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    variant.refresh_from_db()
    assert variant.payload_mask & (SALE | COLOR) == 0
    assert variant.held_mask & ~variant.payload_mask == SALE | COLOR  # what an update feed could not clear


def test_a_colour_set_in_meta_by_someone_else_is_not_left_there_by_an_update_feed(catalog):  # noqa: F811
    """The drift scan re-pushes an item another tool gave a colour its payload lacks: Meta holds a
    field ours does not, which no update-only row can clear, so no update feed may call it SYNCED."""
    from catalog.sync import drift, run

    [edited] = synced_catalog(catalog, products=1, per_product=1)
    edited.refresh_from_db()
    assert not edited.payload_mask & COLOR
    GraphClient(catalog.connection.access_token).post(
        f"{catalog.meta_catalog_id}/items_batch",
        {
            "item_type": "PRODUCT_ITEM",
            "requests": [{"method": "UPDATE", "data": {"id": edited.retailer_id, "color": "Blue"}}],
        },
    )
    catalog.refresh_from_db()
    report = drift.scan(catalog, pages=50)
    assert report.repushed == 1 and status(edited) == Status.PENDING

    run.sync_now(catalog, mode="update_feed", wait=True, timeout=60)  # carries nothing: it cannot clear it
    assert held_in_meta(catalog)[edited.retailer_id].get("color") == "Blue"
    assert status(edited) == Status.PENDING  # never SYNCED while Meta keeps the colour
    run.sync_now(catalog, mode="batch", wait=True, timeout=60)  # the Batch API clears it
    assert not held_in_meta(catalog)[edited.retailer_id].get("color")
    assert status(edited) == Status.SYNCED


def test_an_orphan_released_by_the_sweeper_keeps_what_meta_may_have_taken(catalog):  # noqa: F811
    """A variant left pointing at a finished batch (the sweeper's orphans) may have reached Meta:
    its colour counts as held, so an update feed does not call it SYNCED once the colour goes."""
    from catalog.sync import sweep

    [variant] = synced_catalog(catalog, products=1, per_product=1)
    on_sale_in_red([variant])
    batch = claim.claim_items_batch(catalog, 0)
    push.send_items_batch(catalog, batch, GraphClient(catalog.connection.access_token))
    assert held_in_meta(catalog)[variant.retailer_id].get("color") == "Red"  # Meta took it
    SyncBatch.objects.filter(pk=batch.pk).update(state=SyncBatch.State.FAILED)  # ended, variant not released
    assert sweep.release_orphans() == 1
    variant.refresh_from_db()
    assert variant.held_mask & COLOR == COLOR

    Variant.objects.filter(pk=variant.pk).update(options={})  # the colour goes
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    tasks.push_feed(catalog.pk, Kind.UPDATE_FEED, True)
    confirm_all(catalog)
    assert held_in_meta(catalog)[variant.retailer_id].get("color") == "Red"
    assert status(variant) == Status.PENDING


def test_staff_sending_an_item_again_is_not_settled_by_an_update_feed(catalog):  # noqa: F811
    """Staff send an item again when Meta's copy looks wrong (here a colour someone else set): only a
    call that sends the whole item may call it SYNCED, so an update feed leaves it PENDING."""
    from catalog.sync import run

    [item] = synced_catalog(catalog, products=1, per_product=1)
    GraphClient(catalog.connection.access_token).post(
        f"{catalog.meta_catalog_id}/items_batch",
        {
            "item_type": "PRODUCT_ITEM",
            "requests": [{"method": "UPDATE", "data": {"id": item.retailer_id, "color": "Blue"}}],
        },
    )
    assert run.repush(Variant.objects.filter(pk=item.pk)) == 1  # the admin's "Send … to Meta again"

    run.sync_now(catalog, mode="update_feed", wait=True, timeout=60)
    assert held_in_meta(catalog)[item.retailer_id].get("color") == "Blue"
    assert status(item) == Status.PENDING
    run.sync_now(catalog, mode="batch", wait=True, timeout=60)
    assert not held_in_meta(catalog)[item.retailer_id].get("color")
    assert status(item) == Status.SYNCED
