"""The three flows end to end against the Graph API sandbox (real HTTP, the real client)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import item_state, tasks
from catalog.connection import catalogs, flows, reconcile
from catalog.graph_clients import business_key
from catalog.meta.throttle import MANAGEMENT, Throttle
from catalog.models import (
    Catalog,
    MetaConnection,
    MetaItemDeletion,
    ReconciliationReport,
    SyncBatch,
    Variant,
)
from catalog.sync import confirm, feeds
from catalog.tests.factories import CatalogFactory, TenantFactory
from sandbox import faults
from sandbox.graph_accounts import create_sandbox_business, issue_token
from sandbox.models import AccessToken, ItemsBatch, ProductCatalog

from .conftest import item_for, legacy_item, meta_items, seed_catalog, variant

pytestmark = pytest.mark.django_db(transaction=True)
Status = Variant.SyncStatus


@pytest.fixture
def connected(meta, shop, settings):
    settings.SYNC_POLL_DELAYS = [0.0]
    return flows.connect_token(shop["tenant"], token=meta["access_token"], business_id=meta["business_id"])


def _seed_existing_catalog(meta, shop):
    """What another tool left in Meta: identical, changed, SKU-keyed, product-level and orphan items."""
    store = shop["store"]
    red, blue, hat = variant(shop, "tee", "Red"), variant(shop, "tee", "Blue"), variant(shop, "hat", "Default Title")
    seed_catalog(
        meta,
        meta["catalog_id"],
        [
            item_for(red, store),
            item_for(blue, store, price="15.00 USD", availability="out of stock"),
            item_for(hat, store, id="HAT"),
            legacy_item(str(shop["coat"].shopify_product_id), "Winter Coat"),
            legacy_item("OLD-GLOVES", "Gloves"),
        ],
    )


def _read(catalog: Catalog) -> ReconciliationReport:
    report = ReconciliationReport.objects.latest_for(catalog)
    tasks.build_reconciliation_report(report.pk)
    report.refresh_from_db()
    return report


def _push_and_confirm(catalog: Catalog) -> None:
    """What the schedules do: the due replace feeds (they create new items), the push, the polls."""
    tasks.push_feed(catalog.pk)
    tasks.push_catalog(catalog.pk)
    tasks.confirm_catalog(catalog.pk)


# -- import ---------------------------------------------------------------------------------------


def test_import_reports_every_category_before_writing_anything(meta, shop, connected):
    _seed_existing_catalog(meta, shop)
    before = meta_items(meta, meta["catalog_id"])
    catalog = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"])
    report = _read(catalog)
    assert report.state == ReconciliationReport.State.READY
    assert (
        report.meta_items_read,
        report.matched,
        report.different,
        report.id_changed,
        report.meta_only,
        report.missing_in_meta,
    ) == (5, 1, 1, 4, 1, 0)
    blue = report.rows.get(kind="different")
    assert {d["field"] for d in blue.differences} == {"price", "availability"}
    coat_rows = report.rows.filter(kind="id_change", method="product")
    assert coat_rows.count() == 3
    assert set(coat_rows.values_list("meta_retailer_id", flat=True)) == {str(shop["coat"].shopify_product_id)}
    assert report.rows.get(kind="meta_only").meta_retailer_id == "OLD-GLOVES"
    catalog.refresh_from_db()
    assert catalog.sync_enabled is False
    assert meta_items(meta, meta["catalog_id"]) == before


def test_enabling_sync_makes_galantis_the_source_of_truth(meta, shop, connected):
    _seed_existing_catalog(meta, shop)
    catalog = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"])
    report = reconcile.confirm_import(_read(catalog), user=shop["owner"])
    tasks.apply_reconciliation_report(report.pk)
    catalog.refresh_from_db()
    assert catalog.sync_enabled
    red, blue = variant(shop, "tee", "Red"), variant(shop, "tee", "Blue")
    assert (red.meta_status, blue.meta_status) == (Status.SYNCED, Status.PENDING)
    coat = shop["coat"]
    assert set(Variant.objects.filter(product=coat).values_list("previous_id", flat=True)) == {
        str(coat.shopify_product_id)
    }
    queued = set(MetaItemDeletion.objects.filter(catalog=catalog).values_list("retailer_id", "reason", "state"))
    # Scenario 3: the old product-level item stays (with its learnings) until the variants that
    # take over its history are confirmed. Its id was our item group id, which Meta refuses while
    # an item holds it (#10800): the coat's variants group under another id instead.
    assert queued == {(str(coat.shopify_product_id), "replaced", "waiting"), ("HAT", "replaced", "waiting")}
    assert str(coat.shopify_product_id) in meta_items(meta, meta["catalog_id"])
    coat.refresh_from_db()
    assert coat.item_group_id == f"{coat.shopify_product_id}-variants"

    # Not before the variants are confirmed: neither while they wait, nor once sent and unconfirmed.
    assert tasks.send_due_item_deletions() == 0
    tasks.push_feed(catalog.pk)  # the replace feed carrying the new variants is uploaded
    assert SyncBatch.objects.filter(catalog=catalog, state__in=SyncBatch.IN_FLIGHT_STATES).exists()
    assert tasks.send_due_item_deletions() == 0
    assert str(coat.shopify_product_id) in meta_items(meta, meta["catalog_id"])

    _push_and_confirm(catalog)
    # That first replace feed adopts the catalog's items: an update-only snapshot, which cannot
    # clear a field. The blue tee's Meta copy came from another tool (which fields it holds is not
    # known), so it is not shown SYNCED from that upload: the Batch API sends it whole next.
    blue.refresh_from_db()
    assert blue.meta_status == Status.PENDING
    _push_and_confirm(catalog)
    assert not Variant.objects.filter(catalog=catalog).exclude(meta_status=Status.SYNCED).exists()
    in_meta = meta_items(meta, meta["catalog_id"])
    coat_items = [in_meta[rid] for rid in Variant.objects.filter(product=coat).values_list("retailer_id", flat=True)]
    assert len(coat_items) == 3 and str(coat.shopify_product_id) in in_meta  # both, for a moment
    assert tasks.send_due_item_deletions() == 2  # the coat's old item and HAT, now that their successors are in
    in_meta = meta_items(meta, meta["catalog_id"])
    ours = set(Variant.objects.filter(catalog=catalog).values_list("retailer_id", flat=True))
    assert set(in_meta) == ours | {"OLD-GLOVES"}  # old ids gone, the orphan kept (nobody chose to delete it)
    assert in_meta[blue.retailer_id]["price"] == "$19.99"


def _settle(catalog: Catalog) -> None:
    """Poll until nothing of the catalog is in flight."""
    for _ in range(50):
        if not SyncBatch.objects.filter(catalog=catalog, state__in=SyncBatch.IN_FLIGHT_STATES).exists():
            return
        confirm.confirm_catalog(catalog, force=True)
    raise AssertionError("Meta never finished")


def test_another_tools_items_are_deleted_only_by_our_replace_feed_once_it_listed_them(meta, shop, connected):
    """An imported catalog: items another tool's feed created are never deleted by the Batch API."""
    _seed_existing_catalog(meta, shop)
    catalog = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"])
    tasks.apply_reconciliation_report(reconcile.confirm_import(_read(catalog), user=shop["owner"]).pk)
    catalog.refresh_from_db()
    red = variant(shop, "tee", "Red")
    assert (red.created_via, red.in_replace_feed_at) == (Variant.CreatedVia.OTHER, None)

    red.product.removed_at = timezone.now() - timedelta(days=catalog.delete_grace_days + 1)
    red.product.save()
    item_state.refresh_variants(Variant.objects.filter(product=red.product))
    for _ in range(3):  # pushes (and the replace feed the new variants bring) never delete it
        tasks.push_catalog(catalog.pk)
        _settle(catalog)
    red.refresh_from_db()
    assert red.in_replace_feed_at is not None and red.meta_deleted_at is None  # listed (hidden): ours now
    held = meta_items(meta, meta["catalog_id"], fields="retailer_id,visibility")
    assert held[red.retailer_id]["visibility"] == "staging"

    feeds.push_feeds(catalog, SyncBatch.Kind.REPLACE_FEED, force=True)  # left out: deleted by omission
    _settle(catalog)
    red.refresh_from_db()
    assert red.meta_deleted_at is not None and red.retailer_id not in meta_items(meta, meta["catalog_id"])
    calls = ItemsBatch.objects.filter(catalog_id=ProductCatalog.pk_from_fbid(catalog.meta_catalog_id))
    assert not [r for call in calls for r in call.requests if r.get("method") == "DELETE"]


def test_orphans_are_deleted_only_when_chosen(meta, shop, connected):
    _seed_existing_catalog(meta, shop)
    catalog = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"])
    report = reconcile.confirm_import(_read(catalog), user=shop["owner"], delete_unmatched=True)
    tasks.apply_reconciliation_report(report.pk)
    deletion = MetaItemDeletion.objects.get(retailer_id="OLD-GLOVES")
    assert deletion.chosen_by == shop["owner"] and deletion.reason == "unmatched"
    catalog.refresh_from_db()
    reconcile.send_deletions(catalog)
    assert "OLD-GLOVES" not in meta_items(meta, meta["catalog_id"])


def _sent_orphan_deletion(meta, shop, settings, *, meta_delay: float = 0) -> MetaItemDeletion:
    _seed_existing_catalog(meta, shop)
    catalog = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"])
    report = reconcile.confirm_import(_read(catalog), user=shop["owner"], delete_unmatched=True)
    tasks.apply_reconciliation_report(report.pk)
    catalog.refresh_from_db()
    if meta_delay:
        faults.configure(catalog_id=meta["catalog_id"], batch_delay=meta_delay)
    assert reconcile.send_deletions(catalog) == 1
    deletion = MetaItemDeletion.objects.get(retailer_id="OLD-GLOVES")
    assert deletion.state == MetaItemDeletion.State.SENT and deletion.handle
    return deletion


def test_a_sent_deletion_is_polled_until_meta_confirms_it(meta, shop, connected, settings):
    deletion = _sent_orphan_deletion(meta, shop, settings)

    tasks.send_due_item_deletions()

    deletion.refresh_from_db()
    assert deletion.state == MetaItemDeletion.State.DELETED and deletion.confirmed_at is not None
    assert "OLD-GLOVES" not in meta_items(meta, meta["catalog_id"])


def test_a_deletion_meta_has_not_finished_is_sent_again_after_the_timeout(meta, shop, connected, settings):
    import time_machine

    from catalog.connection import deletions

    deletion = _sent_orphan_deletion(meta, shop, settings, meta_delay=6 * 3600)  # Meta is slow today
    catalog = deletion.catalog

    deletions.confirm_deletions(catalog)  # settles the coat's earlier deletion, not this one
    deletion.refresh_from_db()
    assert deletion.state == MetaItemDeletion.State.SENT  # still in Meta's hands: polled again later

    with time_machine.travel(timezone.now() + deletions.HANDLE_TIMEOUT + timedelta(minutes=1)):
        deletions.confirm_deletions(catalog)
    deletion.refresh_from_db()
    assert (deletion.state, deletion.handle) == (MetaItemDeletion.State.WAITING, "")
    assert "had not finished" in deletion.error


def test_a_deletion_whose_handle_meta_forgot_is_sent_again(meta, shop, connected, settings):
    from catalog.connection import deletions

    deletion = _sent_orphan_deletion(meta, shop, settings)
    MetaItemDeletion.objects.filter(pk=deletion.pk).update(handle="4242424242")

    deletions.confirm_deletions(deletion.catalog)

    deletion.refresh_from_db()
    assert deletion.state == MetaItemDeletion.State.WAITING and "could not report" in deletion.error
    assert reconcile.send_deletions(deletion.catalog) == 1  # and it goes again


def test_pasting_a_token_respects_the_business_budget_its_catalogs_spend(meta, shop):
    """One budget per business: a rate limit one of its catalogs hit stops the token flow's calls too."""
    connection = MetaConnection(business_id=meta["business_id"])  # the key its stored connection will have
    Throttle(f"catalog:{meta['catalog_id']}", (business_key(connection),)).block(
        MANAGEMENT, 600, code=4, reason="Application request limit reached", shared=True
    )
    with pytest.raises(flows.FlowError):
        flows.connect_token(shop["tenant"], token=meta["access_token"], business_id=meta["business_id"])
    assert not MetaConnection.objects.filter(tenant=shop["tenant"]).exists()


def test_catalog_the_token_cannot_see_is_refused(meta, shop, connected):

    foreign = create_sandbox_business(name="Other business")
    with pytest.raises(flows.FlowError, match="can't see catalog"):
        flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=foreign["catalog_id"])
    assert not Catalog.objects.exists()


def test_catalog_of_another_tenant_is_refused(meta, shop, connected):

    CatalogFactory(tenant=TenantFactory(slug="rival"), meta_catalog_id=meta["catalog_id"])
    with pytest.raises(flows.FlowError, match="another Galantis account"):
        flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"])


def test_a_second_store_cannot_feed_the_catalog_another_store_syncs(meta, shop, connected):
    """Two stores feeding one catalog (issue 19, bad input): the second is refused, the first keeps it.

    A catalog has one writer per store in Galantis (replace feeds, drift, deletions are per
    store); another source feeding it shows up in the drift scan as ghosts, never touched.
    """
    from catalog.tests.factories import ShopifyStoreFactory

    first = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"])
    second = ShopifyStoreFactory(tenant=shop["tenant"], shop_domain="acme-eu.myshopify.com", name="Acme EU")
    for flow in ("import", "link"):
        with pytest.raises(flows.FlowError, match="already used by store acme.myshopify.com"):
            flows.choose_catalog(shop["tenant"], store=second, flow=flow, catalog_id=meta["catalog_id"], confirmed=True)
    first.refresh_from_db()
    assert (first.store_id, first.flow) == (shop["store"].pk, Catalog.Flow.IMPORT)
    assert not Catalog.objects.filter(store=second).exists()


def test_another_tenants_catalog_the_token_cannot_see_is_not_named(meta, shop, connected):
    """Who uses a catalog in Galantis is told only to a caller whose token can read that catalog."""
    foreign = create_sandbox_business(name="Rival business")
    CatalogFactory(tenant=TenantFactory(slug="rival"), meta_catalog_id=foreign["catalog_id"])
    for flow in ("import", "link"):
        with pytest.raises(flows.FlowError) as refused:
            flows.choose_catalog(shop["tenant"], store=shop["store"], flow=flow, catalog_id=foreign["catalog_id"])
        assert "can't see catalog" in str(refused.value) and "another" not in str(refused.value)


# -- create ---------------------------------------------------------------------------------------


def test_create_makes_a_commerce_catalog_and_pushes_every_eligible_variant(meta, shop, connected):
    catalog = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="create", create_name="Acme (Galantis)")
    assert catalog.meta_catalog_id and catalog.meta_catalog_id != meta["catalog_id"]
    assert catalog.sync_enabled and catalog.flow == Catalog.Flow.CREATE
    listed = flows.refresh_catalog_list(connected)
    assert {c.name for c in listed} >= {"Acme (Galantis)"}
    variants = Variant.objects.filter(product__store=shop["store"])
    assert set(variants.values_list("catalog_id", "meta_status").distinct()) == {(catalog.pk, Status.PENDING)}
    _push_and_confirm(catalog)
    ours = set(variants.values_list("retailer_id", flat=True))
    assert set(meta_items(meta, catalog.meta_catalog_id)) == ours
    assert not variants.exclude(meta_status=Status.SYNCED).exists()


# -- link -----------------------------------------------------------------------------------------


def test_link_maps_another_tools_items_and_never_writes(meta, shop, connected):
    store = shop["store"]
    seed_catalog(
        meta, meta["catalog_id"], [item_for(v, store, id=v.sku) for v in Variant.objects.filter(product=shop["tee"])]
    )
    before = meta_items(meta, meta["catalog_id"])
    catalog = flows.choose_catalog(shop["tenant"], store=store, flow="link", catalog_id=meta["catalog_id"])
    report = _read(catalog)
    assert report.state == ReconciliationReport.State.APPLIED
    red = variant(shop, "tee", "Red")
    assert (red.meta_status, red.message_retailer_id) == (Status.SYNCED, "TEE-Red")
    hat = variant(shop, "hat", "Default Title")
    assert hat.meta_status == Status.FAILED and hat.last_error_code == "NOT_IN_LINKED_CATALOG"

    # Every write path refuses a linked catalog.
    Variant.objects.filter(pk=red.pk).update(price=Decimal("1.00"))
    item_state.refresh_variants(Variant.objects.filter(pk=red.pk))
    catalog.refresh_from_db()
    assert tasks.push_catalog(catalog.pk)["skipped"].startswith("read-only")
    assert not SyncBatch.objects.filter(catalog=catalog).exists()
    with pytest.raises(catalogs.ReadOnlyCatalog):
        reconcile.send_deletions(catalog)
    with pytest.raises(catalogs.ReadOnlyCatalog):
        catalogs.connect_pixel(catalog, meta["pixel_id"])
    assert meta_items(meta, meta["catalog_id"]) == before


# -- switching ------------------------------------------------------------------------------------


def test_switching_catalogs_asks_first_and_keeps_pending_work(meta, shop, connected):
    first = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="create", create_name="First")
    tasks.push_feed(first.pk)  # an upload (it creates the new items) is now in flight to the first catalog
    assert SyncBatch.objects.filter(catalog=first, state__in=SyncBatch.IN_FLIGHT_STATES).exists()
    with pytest.raises(flows.ConfirmationRequired) as asked:
        flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"])
    assert asked.value.plan.in_flight == 1 and asked.value.plan.variants == 6
    first.refresh_from_db()
    assert first.store_id == shop["store"].pk  # nothing changed before the confirmation

    second = flows.choose_catalog(
        shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"], confirmed=True
    )
    variants = Variant.objects.filter(product__store=shop["store"])
    assert set(variants.values_list("catalog_id", "meta_status", "in_flight_batch").distinct()) == {
        (second.pk, Status.PENDING, None)
    }
    first.refresh_from_db()
    assert (first.store_id, first.sync_enabled) == (None, False) and "Replaced by" in first.paused_reason
    assert not SyncBatch.objects.filter(catalog=first, state__in=SyncBatch.IN_FLIGHT_STATES).exists()
    # The abandoned batch's late confirmation touches nothing that moved on.
    tasks.confirm_catalog(first.pk)
    assert set(variants.values_list("catalog_id", "meta_status").distinct()) == {(second.pk, Status.PENDING)}


# -- token health during sync ---------------------------------------------------------------------


def test_expired_token_mid_sync_pauses_and_a_new_token_resumes_with_the_changes(meta, shop, connected):

    catalog = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="create", create_name="Live")
    _push_and_confirm(catalog)
    faults.configure(token=meta["access_token"], expires_at=timezone.now() - timedelta(seconds=1))
    hat = variant(shop, "hat", "Default Title")
    Variant.objects.filter(pk=hat.pk).update(price=Decimal("42.00"))
    item_state.refresh_variants(Variant.objects.filter(pk=hat.pk))

    tasks.push_catalog(catalog.pk)
    catalog.refresh_from_db()
    assert catalog.pause_kind == "auth" and catalog.sync_enabled
    hat.refresh_from_db()
    assert hat.meta_status == Status.PENDING  # kept, not lost

    fresh = issue_token(AccessToken.objects.get(token=meta["access_token"]).system_user).token
    flows.connect_token(shop["tenant"], token=fresh)
    catalog.refresh_from_db()
    assert catalog.pause_kind == "" and catalog.paused_reason == ""
    _push_and_confirm(catalog)
    hat.refresh_from_db()
    assert hat.meta_status == Status.SYNCED
    assert meta_items(meta, catalog.meta_catalog_id, token=fresh)[hat.retailer_id]["price"] == "$42.00"


# -- pixel and commerce checks --------------------------------------------------------------------


def test_checks_show_missing_pixel_then_connect_it(meta, shop, connected):
    catalog = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"])
    catalog.refresh_from_db()
    pixel, commerce = catalogs.checks_for(catalog)
    assert (pixel.ok, commerce.ok) == (False, True)
    assert "Connect pixel" in pixel.fix
    catalogs.connect_pixel(catalog, meta["pixel_id"])
    catalog.refresh_from_db()
    assert catalog.pixel_id == meta["pixel_id"]
    assert catalogs.checks_for(catalog)[0].ok is True


def test_new_catalog_without_commerce_settings_says_how_to_fix(meta, shop, connected):
    catalog = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="create", create_name="Plain")
    catalog.refresh_from_db()
    commerce = catalogs.checks_for(catalog)[1]
    assert commerce.ok is False and "Commerce Manager" in commerce.fix


def test_a_matched_items_fields_the_import_does_not_compare_are_not_assumed_absent(meta, shop, connected):
    """The import matches an item on the fields it compares; another tool may have set others (a
    gender) that our payload lacks, which no update-only row clears: no update feed calls it SYNCED."""
    from catalog.meta.client import GraphClient

    store = shop["store"]
    red = variant(shop, "tee", "Red")
    assert "gender" not in item_for(red, store)
    seed_catalog(meta, meta["catalog_id"], [item_for(red, store, gender="female")])
    catalog = flows.choose_catalog(shop["tenant"], store=shop["store"], flow="import", catalog_id=meta["catalog_id"])
    report = reconcile.confirm_import(_read(catalog), user=shop["owner"])
    tasks.apply_reconciliation_report(report.pk)
    red.refresh_from_db()
    assert red.meta_status == Status.SYNCED  # matched: the compared fields agree

    Variant.objects.filter(pk=red.pk).update(price=Decimal("21.00"))
    item_state.refresh_variants(Variant.objects.filter(pk=red.pk))
    tasks.push_feed(catalog.pk, SyncBatch.Kind.UPDATE_FEED, True)
    tasks.confirm_catalog(catalog.pk)
    rows = GraphClient(meta["access_token"]).paginate(f"{meta['catalog_id']}/products", fields="retailer_id,gender")
    held = {row["retailer_id"]: row for row in rows}[red.retailer_id]
    red.refresh_from_db()
    assert held.get("gender") == "female"  # the update feed did not carry it: it cannot clear it
    assert red.meta_status == Status.PENDING  # so it is not shown SYNCED
    _push_and_confirm(catalog)  # the replace feed (or the Batch API after it) sends it whole
    _push_and_confirm(catalog)
    rows = GraphClient(meta["access_token"]).paginate(f"{meta['catalog_id']}/products", fields="retailer_id,gender")
    assert not {row["retailer_id"]: row for row in rows}[red.retailer_id].get("gender")
    red.refresh_from_db()
    assert red.meta_status == Status.SYNCED
