"""Push on change (issue 22): coalesced, inside Meta's hourly budget, against the sandbox over real HTTP.

The tasks are called as a Django-Q2 worker calls them (``catalog.tasks``); what they queue
is read from the ORM broker's table; what Meta holds is read back from the sandbox.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone
from django_q.models import OrmQ

from catalog import item_state, tasks
from catalog.meta.client import GraphClient
from catalog.models import Catalog, Product, PushRequest, SyncBatch, Variant
from catalog.sync import budget, confirm, freshness, push_requests, requested_push, run
from catalog.tests.factories import (
    CatalogFactory,
    CatalogFeedFactory,
    MetaConnectionFactory,
    ProductFactory,
    ShopifyStoreFactory,
    SyncBatchFactory,
    TenantFactory,
    VariantFactory,
)
from catalog.tests.test_sync_e2e import meta  # noqa: F401 (the sandbox business fixture)
from sandbox.models import ItemsBatch

pytestmark = pytest.mark.django_db(transaction=True)

Status = Variant.SyncStatus
VOLATILE_KEYS = {"id", "availability", "price", "sale_price", "quantity_to_sell_on_facebook"}


@pytest.fixture
def catalog(meta, settings) -> Catalog:  # noqa: F811 (meta: the imported fixture)
    settings.SYNC_PUSH_COALESCE_SECONDS = 0.2  # the window, short so the tests are quick
    settings.SYNC_PUSH_MAX_WAIT = 5
    settings.SYNC_BATCH_CALLS_PER_HOUR = 100_000  # plenty unless a test says otherwise
    tenant = TenantFactory()
    store = ShopifyStoreFactory(tenant=tenant)
    connection = MetaConnectionFactory(
        tenant=tenant,
        business_id=meta["business_id"],
        access_token=meta["access_token"],
        token_last4=meta["access_token"][-4:],
    )
    return CatalogFactory(tenant=tenant, store=store, connection=connection, meta_catalog_id=meta["catalog_id"])


def synced_catalog(catalog: Catalog, *, products: int, per_product: int) -> list[Variant]:
    """Variants Meta holds (pushed and confirmed), with no push request or task left behind."""
    made = []
    for _ in range(products):
        product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
        made += [VariantFactory(product=product, catalog=catalog) for _ in range(per_product)]
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    run.sync_now(catalog, mode="batch", wait=True, timeout=60)
    assert Variant.objects.filter(catalog=catalog).status_counts()["SYNCED"] == len(made)
    OrmQ.objects.all().delete()
    PushRequest.objects.all().delete()
    return made


def queued(func: str) -> int:
    return sum(1 for task in OrmQ.objects.all() if task.func() == func)


def change_price(variants: list[Variant], price: Decimal) -> None:
    """What a stock or price webhook's drain does: write the new value, refresh, commit."""
    Variant.objects.filter(pk__in=[v.pk for v in variants]).update(price=price)
    item_state.refresh_variants(Variant.objects.filter(pk__in=[v.pk for v in variants]))


def meta_holds(catalog: Catalog) -> dict[str, dict]:
    client = GraphClient(catalog.connection.access_token)
    rows = client.paginate(f"{catalog.meta_catalog_id}/products", fields="retailer_id,price,name", limit=500)
    return {row["retailer_id"]: row for row in rows}


def confirm_all(catalog: Catalog) -> None:
    for _ in range(20):
        if not SyncBatch.objects.filter(catalog=catalog, state__in=SyncBatch.IN_FLIGHT_STATES).exists():
            return
        confirm.confirm_catalog(catalog)
    raise AssertionError("batches still in flight")


# -- coalescing ------------------------------------------------------------------------------------


def test_a_burst_of_changes_inside_the_window_is_one_call_per_shard(catalog):
    Catalog.objects.filter(pk=catalog.pk).update(shard_count=2)
    catalog.refresh_from_db()
    variants = synced_catalog(catalog, products=10, per_product=4)
    calls_before = ItemsBatch.objects.count()
    # Twenty drain transactions in a row, each changing two variants: twenty requests.
    for n in range(20):
        change_price(variants[2 * n : 2 * n + 2], Decimal("33.00"))
    assert queued("catalog.tasks.push_requested") == 1  # one task for the whole burst
    assert PushRequest.objects.get(catalog=catalog).pending_since is not None

    result = tasks.push_requested(catalog.pk)

    shards_used = set(Variant.objects.filter(catalog=catalog).values_list("shard_key", flat=True))
    assert len({key % 2 for key in shards_used}) == 2  # the burst touched both shards
    assert result["calls"] == 2
    assert ItemsBatch.objects.count() - calls_before == 2  # one items_batch call per shard, not forty
    batches = SyncBatch.objects.filter(catalog=catalog, changed_at__isnull=False)
    assert sorted(batches.values_list("shard", flat=True)) == [0, 1]
    assert sum(batches.values_list("item_count", flat=True)) == 40
    confirm_all(catalog)
    assert Variant.objects.filter(catalog=catalog).status_counts()["SYNCED"] == 40
    assert {row["price"] for row in meta_holds(catalog).values()} == {"$33.00"}
    # A second task for the same burst (a stale re-queue, another worker) sends nothing more.
    assert tasks.push_requested(catalog.pk).get("batches", []) == []
    assert ItemsBatch.objects.count() - calls_before == 2


def test_a_change_during_an_in_flight_batch_goes_in_the_next_one_without_flapping(catalog):
    first, *_ = synced_catalog(catalog, products=1, per_product=3)
    change_price([first], Decimal("41.00"))
    tasks.push_requested(catalog.pk)
    in_flight = SyncBatch.objects.get(catalog=catalog, changed_at__isnull=False)
    assert in_flight.state == SyncBatch.State.SENT  # Meta has it; not confirmed yet

    change_price([first], Decimal("42.00"))  # changes while its batch is in flight
    assert tasks.push_requested(catalog.pk)["batches"] == []  # the shard is busy: nothing sent
    assert PushRequest.objects.get(catalog=catalog).pending_since is not None  # the request stands
    OrmQ.objects.all().delete()

    confirm.confirm_catalog(catalog)
    in_flight.refresh_from_db()
    first.refresh_from_db()
    assert (in_flight.state, in_flight.stale_count) == (SyncBatch.State.FINISHED, 1)
    assert first.meta_status == Status.PENDING  # never SYNCED with the older price in between
    assert queued("catalog.tasks.push_requested") == 1  # the batch's end asked for the next push

    tasks.push_requested(catalog.pk)
    confirm_all(catalog)
    first.refresh_from_db()
    assert first.meta_status == Status.SYNCED
    assert meta_holds(catalog)[first.retailer_id]["price"] == "$42.00"
    carried = SyncBatch.objects.filter(catalog=catalog, changed_at__isnull=False).order_by("pk")
    assert [b.item_count for b in carried] == [1, 1]


def test_a_call_sent_while_the_follower_has_been_busy_is_looked_at_half_a_second_after_it_left(
    catalog, monkeypatch, settings
):
    """The poll back-off is each handle's own, not the follower's: a shard waiting for a new call is
    freed as soon as Meta answers it, however long an older upload has kept the follower polling."""
    settings.SYNC_POLL_DELAYS = [0.0]  # every handle due at once: only the back-off spaces the looks
    upload = SyncBatchFactory(
        catalog=catalog, shard=0, kind=SyncBatch.Kind.UPDATE_FEED, state=SyncBatch.State.SENT,
        sent_at=timezone.now() - timedelta(seconds=60), next_poll_at=timezone.now() - timedelta(seconds=10),
        poll_count=5,
    )  # fmt: skip
    pauses: list[float] = []
    fresh: list[SyncBatch] = []

    def meta_answers(catalog):  # Meta still ingests the upload; a new call is done when first looked at
        looks = len(pauses)
        SyncBatch.objects.filter(pk__in=[b.pk for b in fresh]).update(state=SyncBatch.State.FINISHED)
        if looks >= 4:
            SyncBatch.objects.filter(pk=upload.pk).update(state=SyncBatch.State.FINISHED)
            return
        SyncBatch.objects.filter(pk=upload.pk).update(poll_count=F("poll_count") + 1, next_poll_at=timezone.now())
        if looks == 2:  # a push sends a call on shard 1 while the follower waits on the upload
            sent = timezone.now()
            fresh.append(
                SyncBatchFactory(catalog=catalog, shard=1, state=SyncBatch.State.SENT, sent_at=sent, next_poll_at=sent)
            )

    monkeypatch.setattr(confirm, "confirm_catalog", meta_answers)
    requested_push.follow_confirmations(catalog, sleep=pauses.append)

    assert pauses[0] == 0.0  # the upload was last looked at 10 s ago: due
    assert 4.5 <= pauses[1] <= 5.0  # then every 5 s: it has been polled six times
    assert 0.3 <= pauses[2] <= 0.5  # the new call: half a second after it left, not the upload's 5 s
    assert not SyncBatch.objects.filter(catalog=catalog, state=SyncBatch.State.SENT).exists()


def test_the_poll_back_off_counts_from_the_last_look(settings):
    settings.SYNC_POLL_DELAYS = [0.0]
    sent = timezone.now()
    assert requested_push.next_look(sent, sent, 0) == sent + timedelta(seconds=0.5)
    looked = sent + timedelta(seconds=3)
    assert requested_push.next_look(looked, sent, 1) == looked + timedelta(seconds=1)
    assert requested_push.next_look(looked, sent, 3) == looked + timedelta(seconds=4)
    assert requested_push.next_look(looked, sent, 9) == looked + timedelta(seconds=5)
    settings.SYNC_POLL_DELAYS = [30.0]  # a configured delay longer than the back-off wins
    due = sent + timedelta(seconds=30)
    assert requested_push.next_look(due, sent, 0) == due
    assert requested_push.next_look(due, sent, 2) == due


def test_an_item_waiting_for_its_creation_upload_neither_holds_the_request_nor_dates_later_calls(catalog):
    """An item new to Meta goes by a feed (creation by feed), never by a Batch API call: it must not
    keep the push request standing with its change time, which every later call would carry as its
    oldest change (the freshness the health page shows)."""
    [held] = synced_catalog(catalog, products=1, per_product=1)
    Catalog.objects.filter(pk=catalog.pk).update(batch_creation=False)
    catalog.refresh_from_db()
    # The shard's replace feed lists new items within the catalog's new-item latency: they wait for it.
    soon = timezone.now() - catalog.effective_replace_feed_interval + timedelta(minutes=1)
    CatalogFeedFactory(catalog=catalog, shard=0, last_replace_at=soon)
    new = VariantFactory(product=ProductFactory(tenant=catalog.tenant, store=catalog.store), catalog=catalog)
    item_state.refresh_variants(Variant.objects.filter(pk=new.pk))
    change_price([held], Decimal("61.00"))

    assert tasks.push_requested(catalog.pk)["calls"] == 1
    assert PushRequest.objects.get(catalog=catalog).pending_since is None  # not kept standing by the new item
    confirm_all(catalog)
    new.refresh_from_db()
    assert (new.meta_status, new.in_flight_batch_id) == (Status.PENDING, None)  # still waiting for its feed

    later = timezone.now()
    change_price([held], Decimal("62.00"))
    tasks.push_requested(catalog.pk)
    call = SyncBatch.objects.filter(catalog=catalog, kind=SyncBatch.Kind.ITEMS_BATCH).latest("pk")
    assert call.changed_at >= later  # dated by its own change, not the new item's


# -- the budget --------------------------------------------------------------------------------------


def test_with_the_budget_nearly_spent_volatile_fields_go_first_and_the_rest_by_feed(catalog, settings):
    price_changed, title_changed = synced_catalog(catalog, products=2, per_product=1)
    settings.SYNC_BATCH_CALLS_PER_HOUR = 4  # one call spent this hour by the first sync: 3 left, tight
    assert budget.for_catalog(catalog).tight
    change_price([price_changed], Decimal("55.00"))
    Product.objects.filter(pk=title_changed.product_id).update(title="A new title")
    item_state.refresh_variants(Variant.objects.filter(pk=title_changed.pk))
    calls_before = ItemsBatch.objects.count()

    result = tasks.push_requested(catalog.pk)

    assert result["tight"] and result["calls"] == 1
    sent = ItemsBatch.objects.order_by("-pk").first()
    assert ItemsBatch.objects.count() == calls_before + 1
    assert all(set(r["data"]) <= VOLATILE_KEYS for r in sent.requests)  # price and stock only
    confirm_all(catalog)
    held = meta_holds(catalog)
    assert held[price_changed.retailer_id]["price"] == "$55.00"  # the price is live already
    assert held[title_changed.retailer_id]["name"] != "A new title"  # the title waits for the feed
    assert Variant.objects.filter(catalog=catalog).status_counts()["PENDING"] == 2
    assert queued("catalog.tasks.push_feed") == 1  # the rest follows by an update feed

    # No new change: a second tight push sends nothing again.
    OrmQ.objects.all().delete()
    assert tasks.push_requested(catalog.pk).get("calls", 0) == 0
    assert ItemsBatch.objects.count() == calls_before + 1

    tasks.push_feed(catalog.pk, SyncBatch.Kind.UPDATE_FEED, True)
    confirm_all(catalog)
    upload = SyncBatch.objects.get(catalog=catalog, kind=SyncBatch.Kind.UPDATE_FEED)
    assert upload.state == SyncBatch.State.FINISHED
    assert Variant.objects.filter(catalog=catalog).status_counts()["SYNCED"] == 2
    held = meta_holds(catalog)
    assert held[title_changed.retailer_id]["name"] == "A new title"
    assert held[price_changed.retailer_id]["price"] == "$55.00"
    assert ItemsBatch.objects.count() == calls_before + 1  # the feed spent no Batch API call


def test_within_its_pace_a_catalog_pushes_once_the_window_ends():
    now = timezone.now().replace(minute=30, second=0, microsecond=0)
    # Half the hour gone, 20 of 200 calls used: well within an even spread (100 by now).
    within = budget.Budget(quota=200, used=20, seconds_left=1800, burst=20, reserve=10)
    assert within.within_pace and within.spacing == 0.0 and not within.tight
    request = PushRequest(pending_since=now, last_push_at=now - timedelta(seconds=4), last_push_calls=2)
    assert requested_push.not_before(request, within) == now + timedelta(seconds=2)  # the window only


def test_the_burst_allowance_ends_and_the_rest_of_the_hour_is_spread():
    start = budget.Budget(quota=200, used=19, seconds_left=3600, burst=20, reserve=10)
    assert start.within_pace and start.spacing == 0.0
    spent = budget.Budget(quota=200, used=20, seconds_left=3600, burst=20, reserve=10)
    assert not spent.within_pace and spent.spacing == 20.0  # 3600 s over the 180 calls left


def test_beyond_its_pace_the_window_spreads_what_is_left_of_the_hour():
    now = timezone.now().replace(minute=30, second=0, microsecond=0)
    ahead = budget.Budget(quota=200, used=140, seconds_left=1800, burst=20, reserve=10)
    assert not ahead.within_pace and ahead.spacing == 30.0 and not ahead.tight
    request = PushRequest(pending_since=now, last_push_at=now - timedelta(seconds=4), last_push_calls=2)
    # Two calls last time, 30 s each: the next push waits until 60 s after the last one.
    assert requested_push.not_before(request, ahead) == now + timedelta(seconds=56)
    almost_spent = budget.Budget(quota=200, used=195, seconds_left=1800, burst=20, reserve=10)
    assert almost_spent.tight and almost_spent.spacing == 360.0
    assert not almost_spent.carries(30_000, 5000) and almost_spent.carries(25_000, 5000)


def test_the_pace_never_reaches_into_the_reserve():
    # Two minutes before the hour ends an even spread allows 193 calls (+20): the reserve caps it.
    late = budget.Budget(quota=200, used=190, seconds_left=120, burst=20, reserve=10)
    assert not late.within_pace and late.tight


def test_freshness_reads_the_last_hour_of_calls(catalog):
    synced_catalog(catalog, products=1, per_product=2)
    now = timezone.now()
    SyncBatch.objects.filter(catalog=catalog).update(
        changed_at=now - timedelta(seconds=30),
        sent_at=now - timedelta(seconds=20),
        finished_at=now - timedelta(seconds=10),
    )
    summary = freshness.summarise(catalog)
    assert summary.samples == 1
    assert summary.sent_p95 == pytest.approx(10, abs=1)
    assert summary.confirmed_p95 == pytest.approx(20, abs=1)
    assert summary.calls_this_hour == 1


def test_requests_queue_one_task_until_it_is_lost(catalog, settings):
    """Any number of requests (from any worker) queue one task; a task lost for too long is queued again."""
    for _ in range(5):
        push_requests.request_push(catalog.pk)  # outside a transaction: at once
    assert queued("catalog.tasks.push_requested") == 1
    request = PushRequest.objects.get(catalog=catalog)
    assert request.pending_since is not None and request.queued_at is not None
    stale = timezone.now() - push_requests.queued_stale_after() - timedelta(seconds=1)
    PushRequest.objects.filter(pk=request.pk).update(queued_at=stale)  # its worker died
    push_requests.request_push(catalog.pk)
    assert queued("catalog.tasks.push_requested") == 2
    # The oldest change is kept through later requests: freshness counts from it.
    assert PushRequest.objects.get(pk=request.pk).pending_since == request.pending_since
