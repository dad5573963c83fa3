"""Collections as Meta product sets: real HTTP against the sandbox Graph API (live_server).

Every outcome is read back from the sandbox over the Graph API: "created" means Meta (the
sandbox) holds exactly one set with that name, filter, metadata and count.
"""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog import item_state
from catalog.meta.client import GraphClient
from catalog.models import Catalog, GraphThrottle, Product, ProductSet, Variant
from catalog.shopify import collections
from catalog.shopify.records import CollectionRecord
from catalog.sync import product_sets, run, schedule
from catalog.tests.factories import (
    CatalogFactory,
    MetaConnectionFactory,
    ProductFactory,
    ShopifyStoreFactory,
    TenantFactory,
    VariantFactory,
)
from catalog.tests.test_sync_e2e import meta  # noqa: F401 (the sandbox business fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalog(meta) -> Catalog:  # noqa: F811 (meta: the imported fixture)
    tenant = TenantFactory()
    store = ShopifyStoreFactory(tenant=tenant, primary_domain_url="https://shop.example.com")
    connection = MetaConnectionFactory(
        tenant=tenant,
        business_id=meta["business_id"],
        access_token=meta["access_token"],
        token_last4=meta["access_token"][-4:],
    )
    return CatalogFactory(tenant=tenant, store=store, connection=connection, meta_catalog_id=meta["catalog_id"])


def add_product(catalog: Catalog, variants: int = 1, **kwargs) -> Product:
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store, **kwargs)
    made = [VariantFactory(product=product, catalog=catalog) for _ in range(variants)]
    item_state.refresh_variants(Variant.objects.filter(pk__in=[v.pk for v in made]))
    return product


def collection(catalog: Catalog, collection_id: int, title: str, products: list[Product], **extra) -> ProductSet:
    """What a collections/create or /update webhook (or an import) does with a collection."""
    record = CollectionRecord(
        shopify_collection_id=collection_id,
        title=title,
        handle=extra.pop("handle", f"c-{collection_id}"),
        description_html=extra.pop("description_html", "<p>Warm <b>things</b> &amp; more</p>"),
        image_url=extra.pop("image_url", None),
    )
    return collections.upsert_collection(catalog.store, record, [p.shopify_product_id for p in products])


def push_items(catalog: Catalog) -> None:
    run.sync_now(catalog, mode="batch", wait=True, timeout=60)


def sync_sets(catalog: Catalog, **kwargs) -> product_sets.SetSyncReport:
    catalog.refresh_from_db()
    return product_sets.sync_product_sets(catalog, **kwargs)


def meta_sets(catalog: Catalog) -> list[dict]:
    client = GraphClient(catalog.connection.access_token)
    return list(
        client.paginate(
            f"{catalog.meta_catalog_id}/product_sets",
            fields="id,name,filter,product_count,retailer_id,latest_metadata,live_metadata,publish_to_shops",
        )
    )


def only_set(catalog: Catalog) -> dict:
    found = meta_sets(catalog)
    assert len(found) == 1, found
    return found[0]


# -- created, renamed, emptied, published, deleted --------------------------------------------


def test_a_collection_becomes_one_product_set_with_filter_metadata_and_count(catalog):
    products = [add_product(catalog) for _ in range(3)]
    product_set = collection(catalog, 501, "Winter", products[:2])
    push_items(catalog)

    report = sync_sets(catalog)

    assert report.created == [product_set.pk]
    meta_set = only_set(catalog)
    wanted_ids = sorted(str(v.retailer_id) for v in Variant.objects.filter(product__in=products[:2]))
    assert meta_set["name"] == "Winter"
    assert json.loads(meta_set["filter"]) == {"retailer_id": {"is_any": wanted_ids}}
    assert meta_set["retailer_id"] == "galantis-collection-501"
    assert meta_set["product_count"] == 2
    assert meta_set["latest_metadata"] == {
        "cover_image_url": products[0].featured_image_url,
        "external_url": "https://shop.example.com/collections/c-501",
        "description": "Warm things & more",
    }
    product_set.refresh_from_db()
    assert product_set.meta_product_set_id == meta_set["id"]
    assert (product_set.item_count, product_set.meta_product_count) == (2, 2)
    assert not product_set.needs_sync and product_set.sync_error == ""


def test_a_set_waits_until_its_items_are_in_meta(catalog):
    products = [add_product(catalog) for _ in range(2)]
    product_set = collection(catalog, 502, "New in", products)

    report = sync_sets(catalog)

    assert report.waiting == [product_set.pk] and meta_sets(catalog) == []
    push_items(catalog)
    assert sync_sets(catalog).created == [product_set.pk]
    assert only_set(catalog)["product_count"] == 2


def test_a_set_waiting_too_long_names_what_meta_holds_and_stays_queued(catalog):
    ready = add_product(catalog)
    push_items(catalog)
    late = add_product(catalog)  # PENDING: not in Meta yet
    product_set = collection(catalog, 503, "Mixed", [ready, late])
    ProductSet.objects.filter(pk=product_set.pk).update(changed_at=timezone.now() - timedelta(hours=1))

    sync_sets(catalog)

    assert only_set(catalog)["product_count"] == 1
    product_set.refresh_from_db()
    assert product_set.needs_sync and "Waiting for 1 item" in product_set.sync_error
    push_items(catalog)
    assert sync_sets(catalog).updated == [product_set.pk]
    assert only_set(catalog)["product_count"] == 2
    product_set.refresh_from_db()
    assert not product_set.needs_sync


def test_products_with_many_variants_are_named_by_product_group(catalog):
    products = [add_product(catalog, variants=3) for _ in range(2)]
    collection(catalog, 504, "Shirts", products)
    push_items(catalog)

    sync_sets(catalog)

    meta_set = only_set(catalog)
    assert json.loads(meta_set["filter"]) == {
        "retailer_product_group_id": {"is_any": sorted(str(p.shopify_product_id) for p in products)}
    }
    assert meta_set["product_count"] == 6


def test_a_collection_renamed_twice_in_a_second_ends_with_the_last_name_once(catalog):
    product = add_product(catalog)
    push_items(catalog)
    collection(catalog, 505, "Sale", [product])
    sync_sets(catalog)
    collection(catalog, 505, "Sale!", [product])
    collection(catalog, 505, "Summer sale", [product])

    report = sync_sets(catalog)

    assert len(report.updated) == 1 and report.created == []
    assert only_set(catalog)["name"] == "Summer sale"
    assert sync_sets(catalog).writes == 0  # nothing changed since: no call


def test_an_emptied_collection_matches_no_item_never_every_item(catalog):
    product = add_product(catalog)
    push_items(catalog)
    product_set = collection(catalog, 506, "Gifts", [product])
    sync_sets(catalog)

    collection(catalog, 506, "Gifts", [])
    sync_sets(catalog)

    meta_set = only_set(catalog)
    assert json.loads(meta_set["filter"]) == product_sets.EMPTY_FILTER
    assert meta_set["product_count"] == 0
    product_set.refresh_from_db()
    assert (product_set.item_count, product_set.meta_product_count) == (0, 0)


def test_an_empty_collection_is_created_as_an_empty_set(catalog):
    collection(catalog, 507, "Coming soon", [])
    sync_sets(catalog)
    assert only_set(catalog)["product_count"] == 0


def test_a_changed_item_on_its_way_to_meta_stays_in_the_set_and_holds_nothing_back(catalog):
    products = [add_product(catalog) for _ in range(2)]
    push_items(catalog)
    product_set = collection(catalog, 509, "Stable", products)
    sync_sets(catalog)
    Variant.objects.filter(product=products[0]).update(price="5.00")
    item_state.refresh_variants(Variant.objects.filter(product=products[0]))  # PENDING: Meta has the old price
    collections.refresh_filters_for_products([products[0].pk])

    report = sync_sets(catalog)

    assert report.waiting == [] and report.writes == 0 and report.unchanged == 1
    assert only_set(catalog)["product_count"] == 2
    product_set.refresh_from_db()
    assert not product_set.needs_sync


def test_a_removed_product_leaves_the_set(catalog):
    products = [add_product(catalog) for _ in range(2)]
    push_items(catalog)
    collection(catalog, 508, "Two", products)
    sync_sets(catalog)

    Product.objects.filter(pk=products[1].pk).update(removed_at=timezone.now())
    collections.refresh_filters_for_products([products[1].pk])
    sync_sets(catalog)

    assert only_set(catalog)["product_count"] == 1


def test_a_product_in_many_collections_is_in_each_set(catalog):
    shared = add_product(catalog)
    other = add_product(catalog)
    push_items(catalog)
    for n in range(3):
        collection(catalog, 510 + n, f"Collection {n}", [shared] + ([other] if n == 0 else []))

    sync_sets(catalog)

    counts = {row["name"]: row["product_count"] for row in meta_sets(catalog)}
    assert counts == {"Collection 0": 2, "Collection 1": 1, "Collection 2": 1}


def test_publish_to_shops_then_a_live_set_is_kept_until_staff_confirm_its_deletion(catalog):
    Catalog.objects.filter(pk=catalog.pk).update(meta_shop_id="shop-77")
    product = add_product(catalog)
    push_items(catalog)
    product_set = collection(catalog, 520, "Featured", [product])
    sync_sets(catalog)
    ProductSet.objects.filter(pk=product_set.pk).update(publish_to_shops=True)
    product_sets.mark_changed(ProductSet.objects.filter(pk=product_set.pk))

    sync_sets(catalog)

    meta_set = only_set(catalog)
    assert meta_set["publish_to_shops"] == [{"shop_id": "shop-77"}] and meta_set["live_metadata"]
    collections.mark_collections_removed(catalog.store, [520])
    report = sync_sets(catalog)
    assert report.blocked == [product_set.pk]
    product_set.refresh_from_db()
    assert product_set.deletion_blocked_at is not None and "Confirm the deletion" in product_set.sync_error
    assert len(meta_sets(catalog)) == 1  # kept in Meta

    product_sets.confirm_live_deletion(ProductSet.objects.filter(pk=product_set.pk))
    assert sync_sets(catalog).deleted == [product_set.pk]
    assert meta_sets(catalog) == [] and not ProductSet.objects.filter(pk=product_set.pk).exists()


def test_publishing_without_the_catalogs_shop_id_says_so(catalog):
    product = add_product(catalog)
    push_items(catalog)
    product_set = collection(catalog, 521, "Featured", [product])
    ProductSet.objects.filter(pk=product_set.pk).update(publish_to_shops=True)

    sync_sets(catalog)

    assert only_set(catalog).get("publish_to_shops") is None
    product_set.refresh_from_db()
    assert "no Meta shop id" in product_set.sync_error


def test_unpublishing_takes_the_set_out_of_the_shop(catalog):
    Catalog.objects.filter(pk=catalog.pk).update(meta_shop_id="shop-77")
    product = add_product(catalog)
    push_items(catalog)
    product_set = collection(catalog, 522, "Featured", [product])
    ProductSet.objects.filter(pk=product_set.pk).update(publish_to_shops=True)
    sync_sets(catalog)
    ProductSet.objects.filter(pk=product_set.pk).update(publish_to_shops=False)
    product_sets.mark_changed(ProductSet.objects.filter(pk=product_set.pk))

    sync_sets(catalog)

    assert only_set(catalog).get("publish_to_shops") is None
    collections.mark_collections_removed(catalog.store, [522])
    assert sync_sets(catalog).deleted == [product_set.pk]  # not live any more: no confirmation needed
    assert meta_sets(catalog) == []


def test_a_set_deleted_in_commerce_manager_is_created_again(catalog):
    product = add_product(catalog)
    push_items(catalog)
    product_set = collection(catalog, 523, "Gone", [product])
    sync_sets(catalog)
    GraphClient(catalog.connection.access_token).delete(only_set(catalog)["id"])
    collection(catalog, 523, "Gone and back", [product])

    sync_sets(catalog)

    assert only_set(catalog)["name"] == "Gone and back"
    product_set.refresh_from_db()
    assert product_set.meta_product_set_id == only_set(catalog)["id"]


# -- an error response does not mean the set was not created (docs/meta-ingestion-rules.md, "Product sets") --


def test_no_duplicate_set_when_metas_answer_to_the_create_is_lost(catalog):
    from sandbox import faults

    product = add_product(catalog)
    push_items(catalog)
    product_set = collection(catalog, 530, "Lost answer", [product])
    faults.configure(catalog_id=catalog.meta_catalog_id, lose_answer_next=1)

    report = sync_sets(catalog)

    meta_set = only_set(catalog)
    assert report.created == [product_set.pk]
    product_set.refresh_from_db()
    assert product_set.meta_product_set_id == meta_set["id"] and not product_set.needs_sync
    assert sync_sets(catalog).writes == 0 and len(meta_sets(catalog)) == 1


def test_a_rate_limit_keeps_the_set_queued_and_the_next_run_creates_it_once(catalog):
    from sandbox import faults

    product = add_product(catalog)
    push_items(catalog)
    product_set = collection(catalog, 531, "Throttled", [product])
    faults.configure(catalog_id=catalog.meta_catalog_id, rate_limited=True)  # 80009 on product_sets

    report = sync_sets(catalog)

    assert report.created == [] and report.skipped_reason.startswith("paused")
    product_set.refresh_from_db()
    assert product_set.needs_sync and product_set.claimed_until is None
    faults.reset()
    GraphThrottle.objects.all().delete()  # the window has passed
    Catalog.objects.filter(pk=catalog.pk).update(paused_until=timezone.now())
    assert sync_sets(catalog).created == [product_set.pk]
    assert len(meta_sets(catalog)) == 1


def test_a_lost_answer_then_a_crash_before_recording_still_makes_one_set(catalog, monkeypatch):
    """The worker died after Meta created the set: the next run finds it by our marker."""
    from sandbox import faults

    product = add_product(catalog)
    push_items(catalog)
    product_set = collection(catalog, 532, "Crash", [product])
    faults.configure(catalog_id=catalog.meta_catalog_id, lose_answer_next=1)
    # The answer is lost and the read-back fails too: nothing is known locally.
    original = product_sets.find_in_meta
    calls = {"n": 0}

    def failing_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the read-back after the lost answer
            raise product_sets.TransientError("read-back failed")
        return original(*args, **kwargs)

    monkeypatch.setattr(product_sets, "find_in_meta", failing_once)
    sync_sets(catalog)
    monkeypatch.setattr(product_sets, "find_in_meta", original)
    product_set.refresh_from_db()
    assert product_set.meta_product_set_id == "" and product_set.needs_sync
    Catalog.objects.filter(pk=catalog.pk).update(paused_until=timezone.now())

    sync_sets(catalog)

    assert len(meta_sets(catalog)) == 1
    product_set.refresh_from_db()
    assert product_set.meta_product_set_id == only_set(catalog)["id"]


def test_duplicates_left_by_an_earlier_lost_answer_are_removed(catalog):
    product = add_product(catalog)
    push_items(catalog)
    product_set = collection(catalog, 533, "Twice", [product])
    client = GraphClient(catalog.connection.access_token)
    for _ in range(2):
        params = {"name": "Twice", "retailer_id": product_set.meta_marker}
        client.post(f"{catalog.meta_catalog_id}/product_sets", params)

    sync_sets(catalog)

    assert len(meta_sets(catalog)) == 1


# -- staff-defined sets, bad input, operator paths ----------------------------------------------


def test_a_staff_defined_set_is_sent_with_its_filter(catalog):
    add_product(catalog, vendor="Acme")
    add_product(catalog, vendor="Other")
    push_items(catalog)
    ProductSet.objects.create(
        tenant=catalog.tenant, catalog=catalog, name="Acme only", filter={"brand": {"eq": "Acme"}}
    )

    sync_sets(catalog)

    meta_set = only_set(catalog)
    assert meta_set["product_count"] == 1 and meta_set["retailer_id"].startswith("galantis-set-")


def test_a_staff_set_deleted_in_the_admin_goes_from_meta_then_here(catalog):
    product_set = ProductSet.objects.create(
        tenant=catalog.tenant, catalog=catalog, name="Temp", filter={"brand": {"eq": "Acme"}}
    )
    sync_sets(catalog)
    assert len(meta_sets(catalog)) == 1
    ProductSet.objects.filter(pk=product_set.pk).update(removed_at=timezone.now(), needs_sync=True)

    sync_sets(catalog)

    assert meta_sets(catalog) == [] and not ProductSet.objects.filter(pk=product_set.pk).exists()


def test_a_filter_too_long_for_one_set_fails_with_the_reason(catalog, monkeypatch):
    monkeypatch.setattr(product_sets, "MAX_FILTER_VALUES", 2)
    products = [add_product(catalog) for _ in range(3)]
    push_items(catalog)
    product_set = collection(catalog, 540, "Huge", products)

    report = sync_sets(catalog)

    assert report.failed == [product_set.pk] and meta_sets(catalog) == []
    product_set.refresh_from_db()
    assert "Split the collection" in product_set.sync_error and not product_set.needs_sync


def test_sync_catalog_wait_brings_items_and_sets_up_to_date(catalog):
    product = add_product(catalog)
    collection(catalog, 550, "Command", [product])
    out = StringIO()

    call_command("sync_catalog", tenant=catalog.tenant.slug, wait=True, as_json=True, stdout=out)

    result = json.loads(out.getvalue().splitlines()[-1])
    assert result["status"]["synced"] == 1 and len(result["product_sets"]["created"]) == 1
    assert only_set(catalog)["product_count"] == 1


def test_the_schedule_queues_catalogs_with_sets_waiting(catalog, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr(schedule, "enqueue", lambda func, *args, **kwargs: queued.append((func, args)))
    assert schedule.enqueue_due_product_sets() == 0
    collection(catalog, 560, "Scheduled", [])

    assert schedule.enqueue_due_product_sets() == 1
    assert queued == [("catalog.tasks.sync_product_sets", (catalog.pk,))]
