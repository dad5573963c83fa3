"""The sync engine end to end: real HTTP against the sandbox Graph API (live_server).

One behaviour per test. The final state is always read back from the sandbox over the
Graph API, so "SYNCED" means Meta (the sandbox) really holds that version.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
import time_machine
from django.db import OperationalError, connections
from django.db import connection as db_connection
from django.utils import timezone

from catalog import item_state, items
from catalog.graph_clients import client_for
from catalog.meta.client import GraphClient
from catalog.models import (
    Catalog,
    GraphThrottle,
    MetaConnection,
    Product,
    PushRequest,
    SyncBatch,
    Variant,
    shard_key_for,
)
from catalog.sync import claim, confirm, feeds, push, run, sweep
from catalog.tests.factories import (
    CatalogFactory,
    MetaConnectionFactory,
    ProductFactory,
    ShopifyStoreFactory,
    TenantFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

Status = Variant.SyncStatus


@pytest.fixture
def meta(live_server, settings):
    """A sandbox business (catalog + token) served over real HTTP, with no artificial delays."""
    from sandbox.graph_accounts import create_sandbox_business

    settings.META_GRAPH_URL = live_server.url + "/sandbox/graph"
    settings.SANDBOX_BATCH_DELAY_SECONDS = 0
    settings.META_RETRY_BASE_DELAY = 0
    settings.META_THROTTLE_MAX_DELAY = 0
    settings.META_MAX_INLINE_WAIT = 1
    settings.SYNC_POLL_DELAYS = [0]
    return create_sandbox_business(name="Sync engine tests")


@pytest.fixture
def catalog(meta) -> Catalog:
    tenant = TenantFactory()
    store = ShopifyStoreFactory(tenant=tenant)
    connection = MetaConnectionFactory(
        tenant=tenant,
        business_id=meta["business_id"],
        access_token=meta["access_token"],
        token_last4=meta["access_token"][-4:],
    )
    return CatalogFactory(tenant=tenant, store=store, connection=connection, meta_catalog_id=meta["catalog_id"])


def add_variants(catalog: Catalog, n: int, **product_kwargs) -> list[Variant]:
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store, **product_kwargs)
    created = [VariantFactory(product=product, catalog=catalog) for _ in range(n)]
    item_state.refresh_variants(Variant.objects.filter(pk__in=[v.pk for v in created]))
    return created


def bulk_variants(catalog: Catalog, *, products: int, per_product: int) -> None:
    """Many products and variants with bulk inserts (factories are too slow for thousands)."""
    made = Product.objects.bulk_create(
        [
            Product(
                tenant=catalog.tenant,
                store=catalog.store,
                shopify_product_id=8_000_000_000 + n,
                handle=f"bulk-{n}",
                title=f"Bulk product {n}",
                vendor="Acme",
                images=[{"id": n, "src": f"https://cdn.example.com/bulk-{n}.jpg"}],
            )
            for n in range(products)
        ],
        batch_size=500,
    )
    rows = []
    for product in made:
        for k in range(per_product):
            variant_id = 90_000_000_000 + product.shopify_product_id % 1_000_000 * 100 + k
            variant = Variant(
                tenant=catalog.tenant,
                product=product,
                catalog=catalog,
                shopify_variant_id=variant_id,
                retailer_id=str(variant_id),
                shard_key=shard_key_for(str(variant_id)),
                title=f"Size {k}",
                options={"Size": str(k)},
                price=Decimal("10.00") + k,
                inventory_quantity=3,
            )
            # What refresh_variants would store, computed before the insert (its bulk_update
            # of 10,000 rows costs more than the whole sync under test).
            item_state.refresh_variant(variant, product, catalog.store)
            rows.append(variant)
    Variant.objects.bulk_create(rows, batch_size=500)


def meta_items(catalog: Catalog) -> dict[str, dict]:
    """What the sandbox catalog holds, by retailer id."""
    client = GraphClient(catalog.connection.access_token)
    rows = client.paginate(
        f"{catalog.meta_catalog_id}/products",
        fields="id,retailer_id,price,sale_price,availability,visibility",
        limit=500,
    )
    return {row["retailer_id"]: row for row in rows}


def statuses(catalog: Catalog) -> dict[str, int]:
    return Variant.objects.filter(catalog=catalog).status_counts()


def push_and_confirm(catalog: Catalog) -> run.SyncRun:
    return run.sync_now(catalog, mode="batch", wait=True, timeout=60)


# -- push and confirm ----------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [True, False], ids=["json-body", "form-body"])
def test_push_and_confirm_makes_variants_synced_and_present_in_meta(catalog, settings, as_json):
    settings.META_POST_JSON = as_json  # JSON (the default) or form-encoded like the SDK: same outcome
    variants = add_variants(catalog, 4)
    push_and_confirm(catalog)
    assert statuses(catalog) == {"PENDING": 0, "SYNCED": 4, "FAILED": 0}
    assert set(meta_items(catalog)) == {v.retailer_id for v in variants}
    batch = SyncBatch.objects.get(catalog=catalog)
    assert (batch.state, batch.item_count, batch.synced_count) == (SyncBatch.State.FINISHED, 4, 4)
    assert batch.handle and batch.sent_at and batch.finished_at
    sent = {v.retailer_id: items.meta_item(v, v.product, v.product.store) for v in variants}
    stored = meta_items(catalog)
    assert {rid: stored[rid]["availability"] for rid in sent} == {rid: i["availability"] for rid, i in sent.items()}


def test_incremental_sync_sends_exactly_the_changed_items(catalog):
    variants = add_variants(catalog, 5)
    push_and_confirm(catalog)
    Variant.objects.filter(pk__in=[variants[0].pk, variants[3].pk]).update(price=Decimal("42.00"))
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    push_and_confirm(catalog)
    last = SyncBatch.objects.filter(catalog=catalog).order_by("-pk").first()
    assert last.item_count == 2
    assert statuses(catalog)["SYNCED"] == 5


def test_a_line_meta_rejects_fails_with_metas_message(catalog):
    good = add_variants(catalog, 2)
    # Passes our checks (an http address) but Meta's image host rule refuses a host without a dot.
    bad = VariantFactory(product=good[0].product, catalog=catalog, image_url="http://intranet/image.png")
    item_state.refresh_variants(Variant.objects.filter(pk=bad.pk))
    push_and_confirm(catalog)
    bad.refresh_from_db()
    assert bad.meta_status == Status.FAILED
    assert "image_link" in bad.last_error or "URL" in bad.last_error
    assert bad.last_error_code == "META_REJECTED"
    assert bad.failure_source == Variant.FailureSource.META_BATCH
    assert statuses(catalog)["SYNCED"] == 2


def test_an_address_meta_cannot_open_is_caught_before_sending(catalog):
    good = add_variants(catalog, 1)
    bad = VariantFactory(product=good[0].product, catalog=catalog, image_url="ftp://not-an-image")
    item_state.refresh_variants(Variant.objects.filter(pk=bad.pk))
    push_and_confirm(catalog)
    bad.refresh_from_db()
    assert (bad.meta_status, bad.failure_source) == (Status.FAILED, Variant.FailureSource.LOCAL)
    assert "image" in bad.last_error and bad.last_error_fix
    from sandbox.models import ProductItem

    assert not ProductItem.objects.filter(retailer_id=bad.retailer_id).exists()


def test_a_variant_changed_in_flight_stays_pending_and_goes_next(catalog):
    variant = add_variants(catalog, 1)[0]
    report = push.push_catalog(catalog)
    assert report.batches
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("77.00"))
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    confirm.confirm_catalog(catalog, force=True)
    variant.refresh_from_db()
    assert variant.meta_status == Status.PENDING
    assert meta_items(catalog)[variant.retailer_id]["price"] != "77.00 USD"
    push_and_confirm(catalog)
    variant.refresh_from_db()
    assert variant.meta_status == Status.SYNCED
    assert variant.synced_hash == variant.payload_hash


def test_batches_never_exceed_the_configured_size(catalog):
    Catalog.objects.filter(pk=catalog.pk).update(max_batch_size=3)
    catalog.refresh_from_db()
    add_variants(catalog, 8)
    push_and_confirm(catalog)
    sizes = list(SyncBatch.objects.filter(catalog=catalog).values_list("item_count", flat=True))
    assert max(sizes) <= 3 and sum(sizes) == 8
    assert statuses(catalog)["SYNCED"] == 8


def test_read_only_catalog_is_never_written(catalog):
    Catalog.objects.filter(pk=catalog.pk).update(flow=Catalog.Flow.LINK)
    catalog.refresh_from_db()
    add_variants(catalog, 3)
    assert push.push_catalog(catalog).skipped_reason.startswith("read-only")
    assert feeds.push_feeds(catalog, SyncBatch.Kind.REPLACE_FEED, force=True).skipped_reason.startswith("read-only")
    assert not SyncBatch.objects.filter(catalog=catalog).exists()
    assert meta_items(catalog) == {}


def test_removed_product_is_deleted_from_meta_after_the_grace_period(catalog):
    """A batch-created item is deleted by the Batch API, once a replace feed has listed it.

    docs/meta-ingestion-rules.md, "Deletion by the creating method".
    """
    variant = add_variants(catalog, 1)[0]
    push_and_confirm(catalog)
    variant.refresh_from_db()
    assert (variant.created_via, variant.in_replace_feed_at) == (Variant.CreatedVia.BATCH, None)
    variant.product.removed_at = timezone.now() - timedelta(days=catalog.delete_grace_days + 1)
    variant.product.save()
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    push_and_confirm(catalog)
    variant.refresh_from_db()
    assert variant.meta_deleted_at is None and variant.retailer_id in meta_items(catalog)  # no replace feed yet

    _replace_and_confirm(catalog)  # lists it (hidden): the feed now owns it
    variant.refresh_from_db()
    assert variant.in_replace_feed_at is not None and variant.retailer_id in meta_items(catalog)
    calls = SyncBatch.objects.filter(catalog=catalog, kind=SyncBatch.Kind.ITEMS_BATCH).count()
    push_and_confirm(catalog)
    variant.refresh_from_db()
    assert variant.meta_deleted_at is not None and variant.meta_status == Status.SYNCED
    assert variant.retailer_id not in meta_items(catalog)
    assert SyncBatch.objects.filter(catalog=catalog, kind=SyncBatch.Kind.ITEMS_BATCH).count() == calls + 1


def test_variants_scenario_3_sends_previous_id(catalog):
    variant = add_variants(catalog, 1)[0]
    Variant.objects.filter(pk=variant.pk).update(previous_id="10024")
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    push_and_confirm(catalog)
    batch = SyncBatch.objects.get(catalog=catalog)
    assert not any("previous_id" in (w.get("message") or "") for w in batch.stats.get("warnings", []))
    assert Variant.objects.get(pk=variant.pk).meta_status == Status.SYNCED


# -- no overlap ----------------------------------------------------------------------------


def test_two_concurrent_claimers_never_share_a_variant(catalog):
    Catalog.objects.filter(pk=catalog.pk).update(shard_count=4, max_batch_size=5)
    catalog.refresh_from_db()
    add_variants(catalog, 40)
    claimed: list[list[int]] = []
    barrier = threading.Barrier(4)

    def retrying(call):
        # The in-memory SQLite test database shares one cache between connections and
        # answers "table is locked" at once instead of waiting (reads too); a file database
        # (WAL, busy timeout) and PostgreSQL wait. Retrying stands in for that wait.
        for _ in range(200):
            try:
                return call()
            except OperationalError as error:
                if "locked" not in str(error):
                    raise
                time.sleep(0.01)
        raise AssertionError("the database stayed locked")

    def worker(shard_start: int) -> None:
        try:
            barrier.wait()
            mine = []
            for shard in claim.shards(catalog, start=shard_start):
                batch = retrying(lambda shard=shard: claim.claim_items_batch(catalog, shard))
                if batch:
                    in_batch = Variant.objects.filter(in_flight_batch=batch).values_list("pk", flat=True)
                    mine += retrying(lambda in_batch=in_batch: list(in_batch))
            claimed.append(mine)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [pk for mine in claimed for pk in mine]
    assert len(claimed) == 4
    assert len(every) == len(set(every)) == 20  # 4 shards x 5, each variant once
    assert SyncBatch.objects.filter(catalog=catalog).in_flight().count() == 4


def test_a_sharded_catalog_is_synced_by_one_thread_per_shard_group_never_two_batches_per_shard(
    catalog, settings, monkeypatch
):
    if db_connection.vendor == "sqlite":
        assert run.shard_groups(catalog) == []  # one writer at a time: rounds, no threads
        pytest.skip("shards are driven in parallel on PostgreSQL only")
    settings.SYNC_PARALLEL_SHARDS = 2
    Catalog.objects.filter(pk=catalog.pk).update(shard_count=3, max_batch_size=4)
    catalog.refresh_from_db()
    assert run.shard_groups(catalog) == [[0, 2], [1]]
    variants = add_variants(catalog, 30)
    started: list[str] = []
    original = push.push_catalog

    def recording(*args, **kwargs):
        started.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(push, "push_catalog", recording)
    result = push_and_confirm(catalog)
    assert statuses(catalog) == {"PENDING": 0, "SYNCED": 30, "FAILED": 0}
    assert result.items == 30 and not result.timed_out
    assert {name for name in started if name.startswith(run.SHARD_THREAD_PREFIX)} == {
        f"{run.SHARD_THREAD_PREFIX}-0",
        f"{run.SHARD_THREAD_PREFIX}-1",
    }
    assert set(meta_items(catalog)) == {v.retailer_id for v in variants}
    batches = list(SyncBatch.objects.filter(catalog=catalog).order_by("pk"))
    assert sum(b.synced_count for b in batches) == 30 and {b.shard for b in batches} == {0, 1, 2}
    for shard in (0, 1, 2):
        # One batch in flight per shard: each is sent after the previous one finished.
        mine = [b for b in batches if b.shard == shard]
        assert all(later.sent_at >= earlier.finished_at for earlier, later in zip(mine, mine[1:], strict=False))


def test_a_feed_and_a_batch_never_touch_the_same_shard_at_once(catalog):
    Catalog.objects.filter(pk=catalog.pk).update(shard_count=2)
    catalog.refresh_from_db()
    add_variants(catalog, 12)
    batch = claim.claim_items_batch(catalog, 0)
    report = feeds.push_feeds(catalog, SyncBatch.Kind.REPLACE_FEED, force=True)
    uploads = SyncBatch.objects.filter(pk__in=report.uploads)
    assert [u.shard for u in uploads] == [1]
    assert batch.shard == 0


# -- faults --------------------------------------------------------------------------------


def test_revoked_token_pauses_visibly_and_a_good_token_resumes(catalog, meta):
    from sandbox import faults

    variants = add_variants(catalog, 3)
    faults.configure(token=meta["access_token"], revoked=True)
    report = push.push_catalog(catalog)
    catalog.refresh_from_db()
    assert catalog.pause_kind == Catalog.PauseKind.AUTH and "token" in catalog.paused_reason
    assert MetaConnection.objects.get(pk=catalog.connection_id).token_status == MetaConnection.TokenStatus.REVOKED
    assert report.skipped_reason.startswith("paused")
    assert statuses(catalog)["PENDING"] == 3
    # Meanwhile the shop changes; nothing is lost.
    Variant.objects.filter(pk=variants[0].pk).update(price=Decimal("55.00"))
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    assert push.push_catalog(catalog).skipped_reason.startswith("paused")

    faults.configure(token=meta["access_token"], revoked=False)
    connection = MetaConnection.objects.get(pk=catalog.connection_id)
    connection.set_token(meta["access_token"])
    connection.save()
    push_and_confirm(catalog)
    catalog.refresh_from_db()
    assert catalog.pause_kind == ""
    assert statuses(catalog)["SYNCED"] == 3
    assert "55.00" in meta_items(catalog)[variants[0].retailer_id]["price"]  # read back as "$55.00"


def test_catalog_rate_limit_backs_off_until_meta_lets_us_back(catalog, meta):
    from sandbox import faults

    add_variants(catalog, 2)
    faults.configure(catalog_id=meta["catalog_id"], rate_limited=True, regain_access_minutes=2)
    push.push_catalog(catalog)
    catalog.refresh_from_db()
    assert catalog.pause_kind == Catalog.PauseKind.RATE_LIMIT
    assert catalog.paused_until >= timezone.now() + timedelta(seconds=100)
    assert GraphThrottle.objects.filter(blocked_until__gt=timezone.now()).exists()
    faults.reset()
    # Still inside Meta's window: no call is made.
    assert push.push_catalog(catalog).skipped_reason.startswith("paused")
    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=True):
        push_and_confirm(catalog)
        catalog.refresh_from_db()
        assert catalog.pause_kind == ""
    assert statuses(catalog)["SYNCED"] == 2


def test_5xx_is_retried_and_the_push_goes_through(catalog, meta):
    from sandbox import faults

    add_variants(catalog, 2)
    faults.configure(catalog_id=meta["catalog_id"], fail_next=2)
    push_and_confirm(catalog)
    assert statuses(catalog)["SYNCED"] == 2
    assert not Catalog.objects.get(pk=catalog.pk).pause_kind


def test_outage_pauses_then_resumes_by_itself(catalog, meta):
    from sandbox import faults

    add_variants(catalog, 2)
    faults.configure(outage=True)
    push.push_catalog(catalog)
    catalog.refresh_from_db()
    assert catalog.pause_kind == Catalog.PauseKind.OUTAGE
    assert statuses(catalog)["PENDING"] == 2
    faults.reset()
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=True):
        push_and_confirm(catalog)
    assert statuses(catalog)["SYNCED"] == 2


def test_a_handle_that_never_finishes_times_out_into_a_retry(catalog, meta, settings):
    from sandbox import faults

    add_variants(catalog, 2)
    faults.configure(catalog_id=meta["catalog_id"], batch_delay=3600)
    push.push_catalog(catalog)
    confirm.confirm_catalog(catalog, force=True)
    batch = SyncBatch.objects.get(catalog=catalog)
    assert batch.state == SyncBatch.State.SENT
    settings.SYNC_HANDLE_TIMEOUT = 0
    confirm.confirm_catalog(catalog, force=True)
    batch.refresh_from_db()
    assert batch.state == SyncBatch.State.TIMED_OUT
    assert statuses(catalog)["PENDING"] == 2
    assert not Variant.objects.filter(in_flight_batch__isnull=False).exists()
    settings.SYNC_HANDLE_TIMEOUT = 3600
    faults.reset()
    push_and_confirm(catalog)
    assert statuses(catalog)["SYNCED"] == 2


def test_a_worker_killed_after_sending_has_its_items_re_pushed_once(catalog, settings):
    variants = add_variants(catalog, 3)
    batch = claim.claim_items_batch(catalog, 0)
    # The worker sends, then dies before recording the handle.
    client_for(catalog).post(
        f"{catalog.meta_catalog_id}/items_batch",
        {"item_type": "PRODUCT_ITEM", "allow_upsert": True, "requests": json.loads(push.encode_requests(batch).json)},
    )
    assert push.push_catalog(catalog).batches == []  # the shard is still locked by the dead claim
    settings.SYNC_CLAIM_TIMEOUT = 0
    assert sweep.sweep()["dead_claims"] == 1
    push_and_confirm(catalog)
    assert statuses(catalog)["SYNCED"] == 3
    assert set(meta_items(catalog)) == {v.retailer_id for v in variants}
    assert SyncBatch.objects.get(pk=batch.pk).state == SyncBatch.State.FAILED


def drop_this_connection() -> None:
    """Terminate the server process of this thread's connection, as a failover or an operator would."""
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # returns once it is gone
    finally:
        other.close()


postgres_only = pytest.mark.skipif(db_connection.vendor != "postgresql", reason="pg_terminate_backend")


@postgres_only
def test_a_push_whose_connection_drops_after_its_claim_frees_the_shard_at_once(catalog, settings, monkeypatch):
    settings.SYNC_CLAIM_TIMEOUT = 15 * 60  # the sweeper's last resort, far beyond this test
    variants = add_variants(catalog, 3)
    real_claim = push.claim_items_batch
    dropped: list[int] = []

    def claim_then_drop(*args, **kwargs):
        batch = real_claim(*args, **kwargs)
        if batch is not None and not dropped:
            dropped.append(batch.pk)
            drop_this_connection()  # the claim is committed; the send has not started
        return batch

    monkeypatch.setattr(push, "claim_items_batch", claim_then_drop)
    with pytest.raises(OperationalError):
        push.push_catalog(catalog)
    batch = SyncBatch.objects.get(pk=dropped[0])
    assert batch.state == SyncBatch.State.FAILED and "before Meta was called" in batch.error_message
    assert not SyncBatch.objects.filter(catalog=catalog).in_flight().exists()
    push_and_confirm(catalog)  # the next push, with nothing released by the sweeper
    assert statuses(catalog)["SYNCED"] == 3
    assert set(meta_items(catalog)) == {v.retailer_id for v in variants}


@postgres_only
def test_a_push_whose_connection_drops_after_meta_accepted_records_the_handle_on_a_fresh_one(catalog, monkeypatch):
    add_variants(catalog, 2)
    real_record = push.record_sent

    def drop_then_record(*args, **kwargs):
        if not getattr(drop_then_record, "done", False):
            drop_then_record.done = True
            drop_this_connection()
        return real_record(*args, **kwargs)

    monkeypatch.setattr(push, "record_sent", drop_then_record)
    client = client_for(catalog)
    try:
        report = push.push_catalog(catalog, client=client)
    finally:
        # The logged failure keeps this frame (and the client's keep-alive socket, with the
        # live server's database session behind it) alive past the test otherwise.
        client.session.close()
    batch = SyncBatch.objects.get(pk=report.batches[0])
    assert batch.state == SyncBatch.State.SENT and batch.handle  # not released: Meta has it
    push_and_confirm(catalog)
    assert statuses(catalog)["SYNCED"] == 2
    assert SyncBatch.objects.filter(catalog=catalog, kind=SyncBatch.Kind.ITEMS_BATCH).count() == 1


def test_a_handle_meta_forgot_is_retried(catalog):
    add_variants(catalog, 2)
    push.push_catalog(catalog)
    batch = SyncBatch.objects.get(catalog=catalog)
    SyncBatch.objects.filter(pk=batch.pk).update(handle="forgotten-handle")
    confirm.confirm_catalog(catalog, force=True)
    batch.refresh_from_db()
    assert batch.state == SyncBatch.State.TIMED_OUT and "re-queued" in batch.error_message
    push_and_confirm(catalog)
    assert statuses(catalog)["SYNCED"] == 2


def test_out_of_stock_is_sent_as_availability_never_deleted(catalog):
    variant = add_variants(catalog, 1)[0]
    push_and_confirm(catalog)
    Variant.objects.filter(pk=variant.pk).update(inventory_quantity=0)
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    push_and_confirm(catalog)
    assert meta_items(catalog)[variant.retailer_id]["availability"] == "out of stock"


def test_excluded_product_is_never_created(catalog):
    draft = add_variants(catalog, 1, status="DRAFT")[0]
    push_and_confirm(catalog)
    draft.refresh_from_db()
    assert draft.retailer_id not in meta_items(catalog)
    assert draft.meta_status == Status.SYNCED and draft.meta_deleted_at is not None


def test_product_hidden_after_sync_goes_to_staging_not_deleted(catalog):
    variant = add_variants(catalog, 1)[0]
    push_and_confirm(catalog)
    variant.product.status = "ARCHIVED"
    variant.product.save()
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    push_and_confirm(catalog)
    assert meta_items(catalog)[variant.retailer_id]["visibility"] == "staging"


def test_nothing_pending_is_lost_under_a_flaky_meta(catalog, meta):
    from sandbox import faults

    variants = add_variants(catalog, 12)
    Catalog.objects.filter(pk=catalog.pk).update(max_batch_size=4)
    catalog.refresh_from_db()
    faults.configure(catalog_id=meta["catalog_id"], error_rate=0.3)
    for _ in range(20):
        run.sync_now(catalog, mode="batch", wait=True, timeout=30)
        Catalog.objects.filter(pk=catalog.pk).update(pause_kind="", paused_until=None)  # skip the back-off wait
        catalog.refresh_from_db()
        if statuses(catalog)["SYNCED"] == 12:
            break
    faults.reset()
    run.sync_now(catalog, mode="batch", wait=True, timeout=30)
    assert statuses(catalog) == {"PENDING": 0, "SYNCED": 12, "FAILED": 0}
    assert set(meta_items(catalog)) == {v.retailer_id for v in variants}


def test_demo_store_ends_synced_with_every_failure_explained(meta, live_server, settings, tmp_path):
    from sandbox.demo import INTRANET_IMAGES, META_REJECTED_DEMO, run_demo

    settings.SITE_URL = live_server.url  # the demo connects and imports its shop over HTTP
    settings.SANDBOX_SHOPIFY_BULK_DELAY_SECONDS = 0
    settings.SHOPIFY_BULK_POLL_SECONDS = 0.02
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_catalog = run_demo(products=15).catalog
    run.sync_now(demo_catalog, mode="batch", wait=True, timeout=120)
    variants = Variant.objects.filter(catalog=demo_catalog)
    counts = variants.status_counts()
    assert counts["PENDING"] == 0 and counts["SYNCED"] > 0
    rejected = variants.filter(last_error_code="META_REJECTED")
    broken = variants.filter(image_url__startswith=INTRANET_IMAGES)
    assert broken.values("product").distinct().count() == META_REJECTED_DEMO
    # Meta also gets the image as an additional image of the product's other variants.
    assert set(rejected.values_list("product", flat=True)) == set(broken.values_list("product", flat=True))
    assert all("URL" in v.last_error or "image" in v.last_error for v in rejected)
    assert not variants.failed().filter(last_error="").exists()


# -- feeds ---------------------------------------------------------------------------------


def test_full_sync_of_a_10000_variant_store_by_replace_feed(catalog):
    bulk_variants(catalog, products=1000, per_product=10)
    result = run.sync_now(catalog, mode="replace_feed", wait=True, timeout=240)
    assert not result.timed_out
    assert statuses(catalog) == {"PENDING": 0, "SYNCED": 10000, "FAILED": 0}
    client = GraphClient(catalog.connection.access_token)
    summary = client.get(f"{catalog.meta_catalog_id}/products", summary=True, limit=1)["summary"]
    assert summary["total_count"] == 10000


def test_replace_feed_is_streamed_uploaded_and_confirmed(catalog):
    variants = add_variants(catalog, 6)
    result = run.sync_now(catalog, mode="replace_feed", wait=True, timeout=60)
    upload = SyncBatch.objects.get(pk=result.batches[0])
    assert upload.kind == SyncBatch.Kind.REPLACE_FEED and upload.state == SyncBatch.State.FINISHED
    assert upload.stats["rows"] == 6
    assert statuses(catalog)["SYNCED"] == 6
    assert set(meta_items(catalog)) == {v.retailer_id for v in variants}
    assert catalog.feeds.get(shard=0).meta_feed_id


class RecordingSession(requests.Session):
    """A real session that notes what each request handed to the socket layer as its body."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        self.sent.append(request)
        return super().send(request, **kwargs)


def _replace_and_confirm(catalog: Catalog, client: GraphClient | None = None) -> feeds.FeedReport:
    report = feeds.push_feeds(catalog, SyncBatch.Kind.REPLACE_FEED, force=True, client=client)
    deadline = time.monotonic() + 60
    while SyncBatch.objects.filter(pk__in=report.uploads, state=SyncBatch.State.SENT).exists():
        assert time.monotonic() < deadline, "the upload never finished"
        confirm.confirm_catalog(catalog, force=True)
    return report


def test_replace_feed_upload_is_streamed_and_meta_ends_with_exactly_the_catalog(catalog):
    variants = add_variants(catalog, 26)
    # Our feed listed an item the catalog no longer has at all: the next replace feed deletes it.
    _replace_and_confirm(catalog)
    ghost = variants.pop()
    Variant.objects.filter(pk=ghost.pk).delete()
    assert ghost.retailer_id in meta_items(catalog)
    session = RecordingSession()
    feed_client = client_for(catalog, session=session)
    report = feeds.push_feeds(catalog, SyncBatch.Kind.REPLACE_FEED, force=True, client=feed_client)
    [upload_call] = [r for r in session.sent if r.method == "POST" and r.path_url.split("?")[0].endswith("/uploads")]
    # Streamed: requests got a readable body of known length, never the bytes of the file.
    assert not isinstance(upload_call.body, bytes | str) and hasattr(upload_call.body, "read")
    assert int(upload_call.headers["Content-Length"]) == len(upload_call.body) > 25 * 200
    assert upload_call.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert report.rows == 25
    deadline = time.monotonic() + 60
    while SyncBatch.objects.filter(pk=report.uploads[0], state=SyncBatch.State.SENT).exists():
        assert time.monotonic() < deadline, "the upload never finished"
        confirm.confirm_catalog(catalog, force=True)
    assert SyncBatch.objects.get(pk=report.uploads[0]).state == SyncBatch.State.FINISHED
    assert set(meta_items(catalog)) == {v.retailer_id for v in variants}
    assert statuses(catalog) == {"PENDING": 0, "SYNCED": 25, "FAILED": 0}


def test_a_replace_feed_never_deletes_an_item_no_feed_listed(catalog):
    """Meta's rule the sandbox keeps: a replace upload deletes only its feed's items.

    docs/meta-ingestion-rules.md, "Creation by feed".

    So an item created by the Batch API and never listed by a replace feed survives every
    replace upload: that is why new items are created by a feed, and why a Batch API delete
    waits until a replace feed has listed the item.
    """
    variants = add_variants(catalog, 3)
    GraphClient(catalog.connection.access_token).post(
        f"{catalog.meta_catalog_id}/items_batch",
        {
            "item_type": "PRODUCT_ITEM",
            "requests": [
                {
                    "method": "CREATE",
                    "data": {**items.meta_item(variants[0], variants[0].product, catalog.store), "id": "made-by-batch"},
                }
            ],
        },
    )
    _replace_and_confirm(catalog)
    assert set(meta_items(catalog)) == {v.retailer_id for v in variants} | {"made-by-batch"}


def test_a_replace_feed_keeps_locally_invalid_variants_failed(catalog, monkeypatch):
    valid = add_variants(catalog, 3)
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store, images=[])
    invalid = [VariantFactory(product=product, catalog=catalog, image_url="") for _ in range(2)]
    item_state.refresh_variants(Variant.objects.filter(pk__in=[v.pk for v in invalid]))
    assert statuses(catalog) == {"PENDING": 3, "SYNCED": 0, "FAILED": 2}
    # Meta reports only a sample of each error: read none, as for the rows past the sample.
    monkeypatch.setattr(feeds, "SAMPLES_PER_ERROR", 0)
    run.sync_now(catalog, mode="replace_feed", wait=True, timeout=60)
    assert statuses(catalog) == {"PENDING": 0, "SYNCED": 3, "FAILED": 2}
    for variant in Variant.objects.filter(pk__in=[v.pk for v in invalid]):
        assert variant.last_error_code == "EMPTY_IMAGE_URL" and "no image" in variant.last_error
        assert variant.synced_hash != variant.payload_hash
    assert set(meta_items(catalog)) == {v.retailer_id for v in valid}


def test_update_feed_carries_only_pending_changes(catalog):
    variants = add_variants(catalog, 4)
    run.sync_now(catalog, mode="replace_feed", wait=True, timeout=60)
    Variant.objects.filter(pk=variants[1].pk).update(inventory_quantity=0)
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    result = run.sync_now(catalog, mode="update_feed", wait=True, timeout=60)
    upload = SyncBatch.objects.get(pk=result.batches[0])
    assert upload.kind == SyncBatch.Kind.UPDATE_FEED and upload.stats["rows"] == 1
    assert meta_items(catalog)[variants[1].retailer_id]["availability"] == "out of stock"
    assert statuses(catalog)["SYNCED"] == 4


# -- cost ----------------------------------------------------------------------------------


# Our own queries for one push / one confirmation of a batch, whatever its size;
# SQLite sends its BEGIN IMMEDIATE as a query, PostgreSQL adds the claim's SELECT ... FOR UPDATE.
# Building the requests reads variants, their products and their stores (three plain reads);
# due deletions are marked by two index-driven UPDATEs (removed variants, removed products).
# Confirm: +1 since push on change (issue 22): the batch's end looks for a change that waited.
# Push: +1 since a push re-reads the catalog's shard count after locking a shard (claim.lock_shard).
# Per-item timeline (issue 19): +1 each, the claim's and the confirmation's INSERT ... SELECT of
# the items' events (one statement whatever the batch's size). Confirm: +1 for the batch's
# conditional exit (SyncBatch.objects.move, taken before the verdict).
QUERIES_PER_BATCH = {"sqlite": (23, 12), "postgresql": (21, 10)}


@contextmanager
def assert_own_queries(expected: int):
    """Like django_assert_num_queries, counting only this thread's queries.

    With the in-memory SQLite test database the live server thread may share our
    connection object, and the sandbox's own queries must not count as ours.
    """
    me = threading.get_ident()
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        if threading.get_ident() == me:
            seen.append(sql)
        return execute(sql, params, many, context)

    with db_connection.execute_wrapper(record):
        yield seen
    assert len(seen) == expected, f"{len(seen)} queries instead of {expected}:\n" + "\n".join(s[:120] for s in seen)


@pytest.mark.parametrize("size", [5, 50])
def test_push_and_confirm_cost_a_constant_number_of_queries(catalog, size):
    add_variants(catalog, size)
    push.push_catalog(catalog)  # warm-up: throttle rows exist from here on
    confirm.confirm_catalog(catalog, force=True)
    Variant.objects.filter(catalog=catalog).update(price=Decimal("1.50"))
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    per_push, per_confirm = QUERIES_PER_BATCH[db_connection.vendor]
    # The push task takes the request the refresh made; push_catalog is called directly here.
    PushRequest.objects.filter(catalog=catalog).update(pending_since=None)
    with assert_own_queries(per_push):
        push.push_catalog(catalog)
    with assert_own_queries(per_confirm):
        confirm.confirm_catalog(catalog, force=True)
    assert statuses(catalog)["SYNCED"] == size
