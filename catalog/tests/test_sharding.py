"""Automatic, stable sharding: thresholds, drain then re-shard, adoption (catalog.sync.sharding)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from django.db import connection as db_connection
from django.urls import reverse
from django.utils import timezone

from catalog import item_state, state_counts
from catalog.models import Catalog, CatalogFeed, PushRequest, SyncBatch, Variant
from catalog.sync import claim, confirm, feeds, push, results, sharding, sweep
from catalog.tests.admin.formdata import changeform_data
from catalog.tests.factories import CatalogFactory, CatalogFeedFactory, ProductFactory, VariantFactory
from catalog.tests.test_sync_e2e import add_variants, catalog, meta, meta_items  # noqa: F401  (fixtures)

Kind = SyncBatch.Kind
MB = 1024 * 1024


@pytest.mark.parametrize(
    "items, feed_bytes, current, wanted",
    [
        (0, 0, 1, 1),
        (500_000, 0, 1, 1),  # at the threshold: still one shard
        (500_001, 0, 1, 2),
        (1_200_000, 0, 1, 4),  # the next power of two that fits
        (10, 1536 * MB, 1, 4),  # a feed of 1.5 GB needs three shards' bytes: four
        (600_000, 0, 4, 4),  # grew past one shard's worth: no shrink (a quarter of 4 is not enough)
        (200_000, 0, 4, 2),  # a quarter of the capacity does: shrink, keeping room to grow
        (10**9, 0, 1, 256),  # never past the constraint
    ],
)
def test_shard_count_follows_the_documented_thresholds(settings, items, feed_bytes, current, wanted):
    settings.SYNC_ITEMS_PER_SHARD, settings.SYNC_FEED_BYTES_PER_SHARD = 500_000, 512 * MB
    assert sharding.shards_for(items, feed_bytes, current) == wanted


@pytest.mark.django_db
def test_a_requested_count_waits_for_jobs_in_flight_and_no_claim_starts_meanwhile():
    shop = CatalogFactory(shard_count=1)
    in_flight = claim.lock_shard(shop, 0, Kind.ITEMS_BATCH)
    sharding.request(shop, 2)
    assert not sharding.reshard_if_drained(shop)  # drain first
    shop.refresh_from_db()
    assert (shop.shard_count, shop.reshard_to) == (1, 2)
    claim.release(in_flight, state=SyncBatch.State.FINISHED)
    assert claim.lock_shard(shop, 0, Kind.REPLACE_FEED) is None  # draining: nothing new starts
    assert sharding.reshard_if_drained(shop)
    shop.refresh_from_db()
    assert (shop.shard_count, shop.reshard_to) == (2, None)
    assert not SyncBatch.objects.filter(catalog=shop, kind=Kind.RESHARD).exists()  # the locks never stay


@pytest.mark.django_db
def test_a_requested_count_is_applied_as_its_last_job_ends_not_at_the_sweepers_next_run(
    django_capture_on_commit_callbacks,
):
    """No change of the catalog can go while it drains, so the drain ends with its last job: a 1M
    catalog waited for the five-minute sweeper with every push refused (the freshness bench)."""
    shop = CatalogFactory(shard_count=1)
    in_flight = claim.lock_shard(shop, 0, Kind.ITEMS_BATCH)
    sharding.request(shop, 2)
    assert not sharding.reshard_if_drained(shop)  # the sweeper's attempt: a job is in flight

    with django_capture_on_commit_callbacks(execute=True):
        results.finish(in_flight, state=SyncBatch.State.FINISHED)

    shop.refresh_from_db()
    assert (shop.shard_count, shop.reshard_to) == (2, None)
    assert PushRequest.objects.filter(catalog=shop, pending_since__isnull=False).exists()  # what waited goes
    assert claim.lock_shard(shop, 1, Kind.ITEMS_BATCH) is not None


@pytest.mark.django_db
def test_a_worker_holding_the_old_count_cannot_claim_after_a_reshard():
    shop = CatalogFactory(shard_count=1)
    stale = Catalog.objects.get(pk=shop.pk)  # what a slower worker read before the change
    sharding.request(shop, 4)
    assert sharding.reshard_if_drained(shop)
    assert claim.lock_shard(stale, 0, Kind.REPLACE_FEED) is None
    assert claim.lock_shard(shop, 3, Kind.REPLACE_FEED) is not None


@pytest.mark.django_db
def test_after_a_reshard_replace_snapshots_delete_nothing_until_every_shard_adopted():
    shop = CatalogFactory(shard_count=1)
    CatalogFeedFactory(catalog=shop, shard=0)
    assert not sharding.adoption_pending(shop)
    sharding.request(shop, 2)
    sharding.reshard_if_drained(shop)
    shop.refresh_from_db()
    assert sharding.adoption_pending(shop)  # shard 0's feed may hold shard 1's items; shard 1 has no feed
    sharding.adopted(CatalogFeed.objects.get(catalog=shop, shard=0).pk)
    assert sharding.adoption_pending(shop)
    sharding.adopted(CatalogFeedFactory(catalog=shop, shard=1, adopting=True).pk)
    assert not sharding.adoption_pending(shop)


@pytest.mark.django_db
def test_the_sweeper_reshards_a_catalog_that_outgrew_its_shards(settings):
    settings.SYNC_ITEMS_PER_SHARD = 3
    shop = CatalogFactory(shard_count=1)
    product = ProductFactory(tenant=shop.tenant, store=shop.store)
    for _ in range(7):
        VariantFactory(product=product, catalog=shop)
    state_counts.reconcile()
    assert sweep.sweep()["reshards"] == 1
    shop.refresh_from_db()
    assert shop.shard_count == 4  # 7 items / 3 per shard: 2.3, the next power of two
    Catalog.objects.filter(pk=shop.pk).update(auto_shard=False, shard_count=1)
    assert sweep.sweep()["reshards"] == 0  # a count set by staff stays


def _settle(target: Catalog) -> None:
    deadline = time.monotonic() + 60
    while SyncBatch.objects.filter(catalog=target, state__in=SyncBatch.IN_FLIGHT_STATES).exists():
        assert time.monotonic() < deadline, "Meta never finished"
        confirm.confirm_catalog(target, force=True)


@pytest.mark.django_db(transaction=True)
def test_resharding_under_load_never_overlaps_jobs_nor_loses_an_item(catalog, settings):  # noqa: F811
    settings.SYNC_ITEMS_PER_SHARD = 10
    variants = add_variants(catalog, 8) + add_variants(catalog, 8) + add_variants(catalog, 8)
    ours = {v.retailer_id for v in variants}
    feeds.push_feeds(catalog, Kind.REPLACE_FEED, force=True)
    _settle(catalog)
    feeds.push_feeds(catalog, Kind.REPLACE_FEED, force=True)  # a real replace now that the feed owns its items
    _settle(catalog)
    assert set(meta_items(catalog)) == ours

    # Load: a price change in flight on the only shard when the catalog outgrows it.
    Variant.objects.filter(pk=variants[0].pk).update(price="55.00")
    item_state.refresh_variants(Variant.objects.filter(pk=variants[0].pk))
    [busy] = push.push_catalog(catalog).batches
    assert not sharding.maintain(catalog)  # 24 items want 4 shards; one job is in flight: drain
    catalog.refresh_from_db()
    assert (catalog.shard_count, catalog.reshard_to) == (1, 4)
    assert push.push_catalog(catalog).batches == []  # nothing new while draining
    _settle(catalog)  # the job ends, and with it the drain: the count changes then, not at the next sweep
    catalog.refresh_from_db()
    assert (catalog.shard_count, catalog.reshard_to) == (4, None)
    changed_at = catalog.updated_at  # written by the re-shard
    assert not sharding.maintain(catalog)  # the sweeper finds nothing left to do
    # No job of the old partition outlived the change; every later job is on the new one.
    old = SyncBatch.objects.filter(catalog=catalog, created_at__lt=changed_at)
    assert not old.filter(finished_at__gt=changed_at).exists() and SyncBatch.objects.get(pk=busy).finished_at

    # Every shard adopts its items (update-only: nothing deleted), then replace feeds delete again.
    report = feeds.push_feeds(catalog, Kind.REPLACE_FEED, force=True)
    assert len(report.uploads) == 4
    assert all(b.stats.get("adopting") for b in SyncBatch.objects.filter(pk__in=report.uploads))
    _settle(catalog)
    assert set(meta_items(catalog)) == ours and not sharding.adoption_pending(catalog)
    gone = variants[-1]
    Variant.objects.filter(pk=gone.pk).delete()
    report = feeds.push_feeds(catalog, Kind.REPLACE_FEED, force=True)
    assert not any(b.stats.get("adopting") for b in SyncBatch.objects.filter(pk__in=report.uploads))
    _settle(catalog)
    assert set(meta_items(catalog)) == ours - {gone.retailer_id}
    assert meta_items(catalog)[variants[0].retailer_id]["price"] == "$55.00"


@pytest.mark.django_db
def test_staff_changing_the_shard_count_request_it_and_the_catalog_drains_first(owner_client, tenant):
    shop = CatalogFactory(tenant=tenant, shard_count=1)
    busy = claim.lock_shard(shop, 0, Kind.ITEMS_BATCH)
    url = reverse("admin:catalog_catalog_change", args=[shop.pk])
    response = owner_client.post(url, changeform_data(owner_client.get(url), shard_count=4), follow=True)
    assert "4 shards requested" in response.content.decode()
    shop.refresh_from_db()
    assert (shop.shard_count, shop.reshard_to, shop.auto_shard) == (1, 4, False)  # not written under a job
    claim.release(busy, state=SyncBatch.State.FINISHED)
    assert sweep.sweep()["reshards"] == 1
    shop.refresh_from_db()
    assert (shop.shard_count, shop.reshard_to) == (4, None)


@pytest.mark.django_db(transaction=True)
def test_claims_racing_reshards_never_run_across_a_change_of_count():
    """Workers claim and finish jobs in a loop while the count changes four times (PostgreSQL: real row locks).

    Every job's lifetime lies wholly before or wholly after each change, and each job ran on a
    shard of the count in force when it started: no job ever spans two partitions.
    """
    if db_connection.vendor == "sqlite":
        pytest.skip("one writer at a time on SQLite: no race to lose")
    shop = CatalogFactory(shard_count=1, max_batch_size=3)
    product = ProductFactory(tenant=shop.tenant, store=shop.store)
    for _ in range(24):
        VariantFactory(product=product, catalog=shop)
    item_state.refresh_variants(Variant.objects.filter(catalog=shop))
    stop = threading.Event()
    jobs: list[tuple[int, int]] = []  # (batch id, shard count the worker read)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while not stop.is_set():
                fresh = Catalog.objects.get(pk=shop.pk)
                for shard in claim.shards(fresh):
                    batch = claim.claim_items_batch(fresh, shard)
                    if batch is not None:
                        jobs.append((batch.pk, fresh.shard_count))
                        time.sleep(0.002)  # in flight for a moment
                        claim.release(batch, state=SyncBatch.State.FINISHED)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    changes: list[tuple[datetime, datetime, int]] = []  # (asked, applied, new count)
    try:
        current = 1
        for target in (2, 4, 2, 1):
            # Let the workers load the shards under the current count (not a fixed sleep: CI is slow).
            deadline = time.monotonic() + 30
            while not any(seen == current for _, seen in jobs[-50:]) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.1)
            sharding.request(Catalog.objects.get(pk=shop.pk), target)
            # Stamped once the request has committed: a claim that read the catalog before the
            # commit is legitimate (the re-shard then waits for it), and its created_at may fall
            # between a stamp taken earlier and the commit.
            asked = timezone.now()
            deadline = time.monotonic() + 30
            while not sharding.reshard_if_drained(Catalog.objects.get(pk=shop.pk)):
                assert time.monotonic() < deadline, "never drained"
                time.sleep(0.01)
            changes.append((asked, timezone.now(), target))
            current = target
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors
    batches = {b.pk: b for b in SyncBatch.objects.filter(catalog=shop)}
    assert all(batches[pk].finished_at for pk, _ in jobs)
    assert {seen for _, seen in jobs} == {1, 2, 4}  # load under every count
    for asked, applied, count in changes:
        # A job that started before the request ended before the change was applied; none started meanwhile.
        for pk, _ in jobs:
            job = batches[pk]
            assert not (job.created_at < asked and job.finished_at > applied), (pk, count)
            assert not (asked < job.created_at < applied), (pk, count)
    counts = [1] + [count for _, _, count in changes]
    for pk, seen in jobs:
        assert batches[pk].shard < seen and seen in counts
    assert not SyncBatch.objects.filter(catalog=shop, kind=Kind.RESHARD).exists()
