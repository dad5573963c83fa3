"""Claiming and recording without Meta: shard locks, conditional claims, verdicts in bulk."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from catalog import item_state
from catalog.models import Catalog, Product, SyncBatch, Variant
from catalog.sync import claim, results, sweep
from catalog.tests.factories import CatalogFactory, CatalogFeedFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def make_variants(catalog: Catalog, n: int, **product_kwargs) -> list[Variant]:
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store, **product_kwargs)
    variants = [VariantFactory(product=product, catalog=catalog) for _ in range(n)]
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    return variants


def test_claim_takes_at_most_the_catalog_batch_size():
    catalog = CatalogFactory(max_batch_size=3)
    make_variants(catalog, 7)
    batch = claim.claim_items_batch(catalog, 0)
    assert batch.item_count == 3
    assert Variant.objects.filter(in_flight_batch=batch).count() == 3
    assert all(v.in_flight_hash == v.payload_hash for v in Variant.objects.filter(in_flight_batch=batch))


def test_batch_size_never_exceeds_metas_limit(settings):
    settings.SYNC_MAX_ITEMS_PER_BATCH = 99999
    assert claim.batch_size_for(CatalogFactory(max_batch_size=5000)) == claim.MAX_ITEMS_PER_BATCH == 5000


def test_a_shard_has_one_batch_in_flight_at_a_time():
    catalog = CatalogFactory(max_batch_size=2)
    make_variants(catalog, 5)
    assert claim.claim_items_batch(catalog, 0) is not None
    assert claim.claim_items_batch(catalog, 0) is None
    assert claim.claim_feed(catalog, 0, SyncBatch.Kind.REPLACE_FEED) is None


def test_shards_are_locked_independently():
    catalog = CatalogFactory(shard_count=2)
    make_variants(catalog, 20)
    first = claim.claim_items_batch(catalog, 0)
    feed = claim.claim_feed(catalog, 1, SyncBatch.Kind.REPLACE_FEED)
    assert first and feed
    in_first = Variant.objects.filter(in_flight_batch=first)
    in_feed = Variant.objects.filter(in_flight_batch=feed)
    assert all(v.shard_key % 2 == 0 for v in in_first)
    assert all(v.shard_key % 2 == 1 for v in in_feed)
    assert in_first.count() + in_feed.count() == 20


def test_conditional_claim_never_takes_a_variant_claimed_meanwhile():
    catalog = CatalogFactory(shard_count=2)
    make_variants(catalog, 6)
    stale_view = Variant.objects.filter(catalog=catalog)  # what a slower worker selected earlier
    winner = claim.lock_shard(catalog, 0, SyncBatch.Kind.ITEMS_BATCH)
    loser = claim.lock_shard(catalog, 1, SyncBatch.Kind.ITEMS_BATCH)
    assert claim.claim_rows(catalog, winner, stale_view, None) == 6
    assert claim.claim_rows(catalog, loser, stale_view, None) == 0
    assert Variant.objects.filter(in_flight_batch=winner).count() == 6


def test_claim_decides_the_method_per_item():
    catalog = CatalogFactory(delete_grace_days=90)
    long_ago = timezone.now() - timedelta(days=91)
    live = make_variants(catalog, 1)[0]
    gone_synced = make_variants(catalog, 1, removed_at=long_ago)[0]
    gone_never_sent = make_variants(catalog, 1, removed_at=long_ago)[0]
    draft_never_sent = make_variants(catalog, 1, status=Product.Status.DRAFT)[0]
    draft_synced = make_variants(catalog, 1, status=Product.Status.DRAFT)[0]
    gone_unlisted = make_variants(catalog, 1, removed_at=long_ago)[0]
    gone_feed_created = make_variants(catalog, 1, removed_at=long_ago)[0]
    Variant.objects.filter(pk__in=[gone_synced.pk, draft_synced.pk]).update(
        synced_hash="old", created_via=Variant.CreatedVia.BATCH, in_replace_feed_at=timezone.now()
    )
    Variant.objects.filter(pk=gone_unlisted.pk).update(synced_hash="old", created_via=Variant.CreatedVia.BATCH)
    Variant.objects.filter(pk=gone_feed_created.pk).update(
        synced_hash="old", created_via=Variant.CreatedVia.FEED, in_replace_feed_at=timezone.now()
    )
    batch = claim.claim_items_batch(catalog, 0)
    methods = dict(Variant.objects.filter(in_flight_batch=batch).values_list("pk", "in_flight_method"))
    # Deleted by the method that created them, and only once a replace feed listed them: the
    # Batch API leaves a feed-created item and a never-listed one to the replace feed.
    assert methods == {
        live.pk: claim.UPSERT,
        gone_synced.pk: claim.DELETE,
        gone_never_sent.pk: claim.SKIP,
        draft_never_sent.pk: claim.SKIP,
        draft_synced.pk: claim.UPSERT,  # sent as visibility=staging, never deleted early
    }


def test_a_replace_feed_deletes_what_it_listed_and_lists_what_it_never_did():
    catalog = CatalogFactory(delete_grace_days=90)
    CatalogFeedFactory(catalog=catalog)
    long_ago = timezone.now() - timedelta(days=91)
    listed, unlisted, batch_listed = make_variants(catalog, 3, removed_at=long_ago)
    Variant.objects.filter(pk=listed.pk).update(
        synced_hash="old", created_via=Variant.CreatedVia.FEED, in_replace_feed_at=timezone.now()
    )
    Variant.objects.filter(pk=unlisted.pk).update(synced_hash="old", created_via=Variant.CreatedVia.BATCH)
    Variant.objects.filter(pk=batch_listed.pk).update(
        synced_hash="old", created_via=Variant.CreatedVia.BATCH, in_replace_feed_at=timezone.now()
    )
    batch = claim.claim_feed(catalog, 0, SyncBatch.Kind.REPLACE_FEED)
    methods = dict(Variant.objects.filter(in_flight_batch=batch).values_list("pk", "in_flight_method"))
    # Listed (hidden) first, so the feed owns it and a lost delete cannot leave a ghost (Case B);
    # a batch-created item stays listed: the Batch API that created it deletes it.
    assert methods == {listed.pk: claim.DELETE, unlisted.pk: claim.UPSERT, batch_listed.pk: claim.UPSERT}


def test_without_batch_creation_new_items_are_left_to_a_feed():
    catalog = CatalogFactory(batch_creation=False)
    new, held = make_variants(catalog, 2)
    Variant.objects.filter(pk=held.pk).update(synced_hash="old", created_via=Variant.CreatedVia.FEED)
    batch = claim.claim_items_batch(catalog, 0)
    assert list(Variant.objects.filter(in_flight_batch=batch).values_list("pk", flat=True)) == [held.pk]
    assert claim.claim_items_batch(catalog, 0) is None  # the shard is locked; and `new` is not claimable
    claim.release(batch, state=SyncBatch.State.FAILED)
    feed = claim.claim_feed(catalog, 0, SyncBatch.Kind.UPDATE_FEED)
    assert set(Variant.objects.filter(in_flight_batch=feed).values_list("pk", flat=True)) == {new.pk, held.pk}


def test_out_of_stock_is_an_update_not_a_delete():
    catalog = CatalogFactory()
    variant = make_variants(catalog, 1)[0]
    Variant.objects.filter(pk=variant.pk).update(inventory_quantity=0, synced_hash="old")
    batch = claim.claim_items_batch(catalog, 0)
    assert Variant.objects.get(pk=variant.pk, in_flight_batch=batch).in_flight_method == claim.UPSERT


def test_due_deletions_become_pending_after_the_grace_period():
    catalog = CatalogFactory(delete_grace_days=10)
    recent = make_variants(catalog, 1, removed_at=timezone.now() - timedelta(days=3))[0]
    old = make_variants(catalog, 1, removed_at=timezone.now() - timedelta(days=11))[0]
    Variant.objects.update(meta_status=Variant.SyncStatus.SYNCED, synced_hash=F("payload_hash"))
    assert claim.mark_due_deletions(catalog) == 1
    assert Variant.objects.get(pk=old.pk).meta_status == Variant.SyncStatus.PENDING
    assert Variant.objects.get(pk=recent.pk).meta_status == Variant.SyncStatus.SYNCED


def test_due_deletions_cover_removed_variants_and_removed_products_each_variant_once():
    catalog = CatalogFactory(delete_grace_days=10)
    long_ago, lately = timezone.now() - timedelta(days=11), timezone.now() - timedelta(days=3)
    shown = make_variants(catalog, 3)  # product still in Shopify
    gone_product = make_variants(catalog, 2, removed_at=long_ago)  # product removed long ago
    Variant.objects.filter(pk=shown[0].pk).update(removed_at=long_ago)  # the variant itself removed
    Variant.objects.filter(pk=shown[1].pk).update(removed_at=lately)  # still in its grace period
    Variant.objects.filter(pk=gone_product[0].pk).update(removed_at=long_ago)  # removed twice over
    Variant.objects.update(meta_status=Variant.SyncStatus.SYNCED, synced_hash=F("payload_hash"))
    assert claim.mark_due_deletions(catalog) == 3
    pending = set(Variant.objects.filter(meta_status=Variant.SyncStatus.PENDING).values_list("pk", flat=True))
    assert pending == {shown[0].pk, *(v.pk for v in gone_product)}
    assert claim.mark_due_deletions(catalog) == 0  # already queued


def test_release_keeps_every_pending_change():
    catalog = CatalogFactory()
    make_variants(catalog, 4)
    batch = claim.claim_items_batch(catalog, 0)
    claim.release(batch, state=SyncBatch.State.FAILED, message="outage")
    assert Variant.objects.pending().count() == 4
    assert SyncBatch.objects.get(pk=batch.pk).state == SyncBatch.State.FAILED
    assert claim.claim_items_batch(catalog, 0) is not None


# -- verdicts --------------------------------------------------------------------------


def test_accepted_items_are_synced_with_the_hash_that_was_sent():
    catalog = CatalogFactory()
    variants = make_variants(catalog, 3)
    batch = claim.claim_items_batch(catalog, 0)
    results.finish(batch, state=SyncBatch.State.FINISHED)
    for variant in Variant.objects.filter(pk__in=[v.pk for v in variants]):
        assert variant.meta_status == Variant.SyncStatus.SYNCED
        assert variant.synced_hash == variant.payload_hash
        assert variant.in_flight_batch_id is None
    assert SyncBatch.objects.get(pk=batch.pk).synced_count == 3


def test_rejected_items_fail_with_metas_message():
    catalog = CatalogFactory()
    bad, good = make_variants(catalog, 2)
    batch = claim.claim_items_batch(catalog, 0)
    results.finish(batch, state=SyncBatch.State.FINISHED, rejected={bad.retailer_id: "Invalid price"})
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.meta_status, bad.last_error, bad.last_error_code) == ("FAILED", "Invalid price", "META_REJECTED")
    assert bad.synced_hash == ""
    assert good.meta_status == Variant.SyncStatus.SYNCED


def test_item_changed_in_flight_stays_pending_with_the_sent_hash_recorded():
    catalog = CatalogFactory()
    variant = make_variants(catalog, 1)[0]
    batch = claim.claim_items_batch(catalog, 0)
    sent = Variant.objects.get(pk=variant.pk).in_flight_hash
    Variant.objects.filter(pk=variant.pk).update(price="25.00")
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    results.finish(batch, state=SyncBatch.State.FINISHED)
    variant.refresh_from_db()
    assert variant.meta_status == Variant.SyncStatus.PENDING
    assert variant.synced_hash == sent != variant.payload_hash
    assert SyncBatch.objects.get(pk=batch.pk).stale_count == 1
    assert Variant.objects.pending().filter(pk=variant.pk).exists()


@pytest.mark.parametrize("size", [5, 40])
def test_recording_a_verdict_takes_a_constant_number_of_queries(django_assert_num_queries, size):
    catalog = CatalogFactory()
    variants = make_variants(catalog, size)
    batch = claim.claim_items_batch(catalog, 0)
    rejected = {variants[0].retailer_id: "bad", variants[1].retailer_id: "worse"}
    # savepoint, the batch's conditional exit, rejections, aggregate, accepted, batch row, catalog row,
    # release savepoint, and the look for a change that waited for the shard (push_requests.after_batch);
    # +2 for the per-item timeline: one INSERT ... SELECT of the rejections' events, one of the accepted ones
    with django_assert_num_queries(11):
        results.finish(batch, state=SyncBatch.State.FINISHED, rejected=rejected)


# -- sweeper ---------------------------------------------------------------------------


def test_sweeper_releases_a_claim_whose_worker_died(settings):
    settings.SYNC_CLAIM_TIMEOUT = 60
    catalog = CatalogFactory()
    make_variants(catalog, 2)
    batch = claim.claim_items_batch(catalog, 0)
    SyncBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert sweep.release_dead_claims() == 1
    assert Variant.objects.pending().count() == 2
    assert SyncBatch.objects.get(pk=batch.pk).state == SyncBatch.State.FAILED


def test_sweeper_times_out_a_handle_meta_never_finished(settings):
    settings.SYNC_HANDLE_TIMEOUT = 60
    catalog = CatalogFactory()
    make_variants(catalog, 2)
    batch = claim.claim_items_batch(catalog, 0)
    SyncBatch.objects.filter(pk=batch.pk).update(
        state=SyncBatch.State.SENT, handle="h", sent_at=timezone.now() - timedelta(minutes=5)
    )
    assert sweep.time_out_handles() == 1
    assert SyncBatch.objects.get(pk=batch.pk).state == SyncBatch.State.TIMED_OUT
    assert Variant.objects.pending().count() == 2


# -- a push that fails releases its own claim ------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the release commits on its own, outside any test transaction
def test_a_push_that_fails_before_calling_meta_releases_its_claim_at_once(monkeypatch):
    from catalog.sync import push

    catalog = CatalogFactory()
    make_variants(catalog, 2)
    batch = claim.claim_items_batch(catalog, 0)

    def broken(batch):
        raise RuntimeError("building the requests failed")

    monkeypatch.setattr(push, "encode_requests", broken)
    with pytest.raises(RuntimeError):
        push.send_items_batch(catalog, batch, client=None)  # never reaches Meta
    released = SyncBatch.objects.get(pk=batch.pk)
    assert released.state == SyncBatch.State.FAILED
    assert "before Meta was called (RuntimeError: building the requests failed)" in released.error_message
    assert Variant.objects.pending().filter(in_flight_batch__isnull=True).count() == 2
    # The shard is free for the next push now, not after SYNC_CLAIM_TIMEOUT.
    assert claim.claim_items_batch(catalog, 0).item_count == 2


@pytest.mark.django_db(transaction=True)  # the release commits on its own
def test_a_feed_upload_that_fails_before_calling_meta_frees_its_shard_at_once(monkeypatch, settings, tmp_path):
    from catalog.sync import feeds

    settings.SYNC_FEED_DIR = str(tmp_path)
    catalog = CatalogFactory()
    make_variants(catalog, 2)

    def broken(catalog, shard, client):
        raise RuntimeError("the feed could not be created")

    monkeypatch.setattr(feeds, "ensure_feed", broken)
    with pytest.raises(RuntimeError):
        feeds.upload_feed(catalog, 0, SyncBatch.Kind.REPLACE_FEED, client=None)  # never reaches Meta
    failed = SyncBatch.objects.get(catalog=catalog, kind=SyncBatch.Kind.REPLACE_FEED)
    assert failed.state == SyncBatch.State.FAILED and "RuntimeError" in failed.error_message
    assert not Variant.objects.filter(in_flight_batch__isnull=False).exists()
    assert claim.claim_feed(catalog, 0, SyncBatch.Kind.REPLACE_FEED).item_count == 2  # the shard is free


@pytest.mark.django_db(transaction=True)
def test_releasing_a_failed_push_leaves_a_claim_another_worker_already_ended_alone():
    catalog = CatalogFactory()
    make_variants(catalog, 2)
    batch = claim.claim_items_batch(catalog, 0)
    SyncBatch.objects.filter(pk=batch.pk).update(state=SyncBatch.State.SENT, handle="h")
    assert claim.release_failed_claim(batch, RuntimeError("late")) is False
    assert SyncBatch.objects.get(pk=batch.pk).state == SyncBatch.State.SENT
    assert Variant.objects.filter(in_flight_batch=batch).count() == 2


def test_a_late_verdict_never_flips_a_batch_the_sweeper_already_released(settings):
    settings.SYNC_CLAIM_TIMEOUT = 60
    catalog = CatalogFactory()
    make_variants(catalog, 2)
    batch = claim.claim_items_batch(catalog, 0)
    SyncBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert sweep.release_dead_claims() == 1
    again = claim.claim_items_batch(catalog, 0)  # the items went on in a new batch
    results.finish(batch, state=SyncBatch.State.FINISHED)  # the slow worker comes back with Meta's answer
    assert SyncBatch.objects.get(pk=batch.pk).state == SyncBatch.State.FAILED
    assert set(Variant.objects.values_list("in_flight_batch", "meta_status")) == {(again.pk, "PENDING")}
    assert claim.release(batch, state=SyncBatch.State.TIMED_OUT) == 0  # nor released twice
    assert SyncBatch.objects.get(pk=batch.pk).state == SyncBatch.State.FAILED


def test_every_item_to_hide_is_within_the_index_a_claim_finds_it_by():
    # The claim's OR has two arms; PostgreSQL answers the needs-hiding arm from the partial
    # index variant_needs_hiding only when needs_hiding() implies the index's condition.
    (index,) = (i for i in Variant._meta.indexes if i.name == "variant_needs_hiding")
    catalog = CatalogFactory()
    states = [
        {"meta_status": Variant.SyncStatus.FAILED, "failure_source": Variant.FailureSource.LOCAL, **shown}
        for shown in (
            {"synced_hash": "abc"},
            {"meta_item_id": "123"},
            {"synced_hash": "abc", "visibility": "staging"},
            {"synced_hash": "abc", "meta_deleted_at": timezone.now()},
            {},  # never in Meta: nothing to hide
        )
    ] + [{"meta_status": Variant.SyncStatus.PENDING}, {"meta_status": Variant.SyncStatus.SYNCED, "synced_hash": "abc"}]
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    for state in states:
        VariantFactory(product=product, catalog=catalog, **state)
    to_hide = set(Variant.objects.filter(item_state.needs_hiding()).values_list("pk", flat=True))
    indexed = set(Variant.objects.filter(index.condition).values_list("pk", flat=True))
    assert len(to_hide) == 2
    assert to_hide <= indexed
    assert len(indexed) == 3  # the staging one too, not the deleted one nor the one never in Meta
