"""Applying an import report (Galantis takes over) and a link mapping (read-only)."""

import pytest

from catalog import items
from catalog.connection import reconcile
from catalog.connection.deletions import deletions_ready
from catalog.models import Catalog, MetaItemDeletion, ReconciliationReport, Variant
from catalog.tests.factories import CatalogFactory, ProductFactory, UserFactory, VariantFactory

from .helpers import graph_values, meta_row, new_report, run_matcher

Status = Variant.SyncStatus


@pytest.fixture
def imported(tenant, store):
    return CatalogFactory(tenant=tenant, store=store, flow=Catalog.Flow.IMPORT, sync_enabled=False)


@pytest.fixture
def owner(tenant):
    return UserFactory(username="owner-a")


def _ready_report(catalog, rows_for):
    report = new_report(catalog)
    rows_for(report)
    run_matcher(report)
    report.state = ReconciliationReport.State.READY
    report.save()
    return report


def _apply(report, **kwargs):
    report = reconcile.confirm_import(report, **kwargs)
    return reconcile.apply_report(report)


@pytest.mark.django_db
def test_nothing_changes_before_the_merchant_confirms(imported, tenant, store):
    variant = VariantFactory(product=ProductFactory(tenant=tenant, store=store))
    _ready_report(imported, lambda r: meta_row(r, variant.retailer_id, name="x"))
    imported.refresh_from_db()
    variant.refresh_from_db()
    assert imported.sync_enabled is False
    assert variant.catalog_id is None and variant.meta_item_id == ""


@pytest.mark.django_db
def test_apply_marks_identical_synced_and_the_rest_pending(
    imported, tenant, store, owner, django_capture_on_commit_callbacks
):
    product = ProductFactory(tenant=tenant, store=store)
    same, changed, missing = (VariantFactory(product=product) for _ in range(3))

    def rows(report):
        meta_row(report, same.retailer_id, item_id="fb-1", **graph_values(same, store))
        meta_row(report, changed.retailer_id, item_id="fb-2", **(graph_values(changed, store) | {"price": "1.00 USD"}))

    report = _ready_report(imported, rows)
    with django_capture_on_commit_callbacks() as callbacks:
        report = _apply(report, user=owner)
    assert report.state == ReconciliationReport.State.APPLIED
    assert report.applied_by == owner
    imported.refresh_from_db()
    assert imported.sync_enabled is True
    statuses = {v.pk: (v.meta_status, v.meta_item_id, v.catalog_id) for v in Variant.objects.all()}
    assert statuses[same.pk] == (Status.SYNCED, "fb-1", imported.pk)
    assert statuses[changed.pk] == (Status.PENDING, "fb-2", imported.pk)
    assert statuses[missing.pk][0] == Status.PENDING and statuses[missing.pk][2] == imported.pk
    assert len(callbacks) >= 2  # the apply task and the push


@pytest.mark.django_db
def test_identical_item_changed_since_the_report_stays_pending(imported, tenant, store, owner):
    variant = VariantFactory(product=ProductFactory(tenant=tenant, store=store))
    report = _ready_report(imported, lambda r: meta_row(r, variant.retailer_id, **graph_values(variant, store)))
    Variant.objects.filter(pk=variant.pk).update(price="99.00")
    _apply(report, user=owner)
    variant.refresh_from_db()
    assert variant.meta_status == Status.PENDING


@pytest.mark.django_db
def test_id_change_sets_previous_id_and_queues_the_old_id_for_deletion(imported, tenant, store, owner):
    product = ProductFactory(tenant=tenant, store=store)
    variants = [VariantFactory(product=product, options={"Size": s}) for s in "SM"]
    report = _ready_report(imported, lambda r: meta_row(r, str(product.shopify_product_id), name=product.title))
    _apply(report, user=owner)
    assert {v.previous_id for v in Variant.objects.filter(pk__in=[v.pk for v in variants])} == {
        str(product.shopify_product_id)
    }
    deletion = MetaItemDeletion.objects.get()
    assert (deletion.retailer_id, deletion.reason) == (str(product.shopify_product_id), "replaced")
    # Scenario 3: the old item's id was our item group id (Meta refuses a group id an item holds,
    # #10800), so the variants group under another id and the old item waits for them.
    assert not deletion.goes_first
    product.refresh_from_db()
    assert product.item_group_id == f"{product.shopify_product_id}-variants"
    imported.refresh_from_db()
    assert not deletions_ready(imported).exists()
    for v in Variant.objects.filter(product=product).select_related("product", "product__store"):
        assert items.meta_item(v, v.product, v.product.store)["item_group_id"] == product.item_group_id
        assert v.payload_hash == items.payload_hash(items.meta_item(v, v.product, v.product.store))


@pytest.mark.django_db
def test_a_sku_keyed_old_item_waits_for_its_successor(imported, tenant, store, owner):
    variant = VariantFactory(product=ProductFactory(tenant=tenant, store=store), sku="OLD-SKU")
    report = _ready_report(imported, lambda r: meta_row(r, "OLD-SKU", name="x"))
    _apply(report, user=owner)
    deletion = MetaItemDeletion.objects.get()
    assert not deletion.goes_first
    assert not reconcile.deletions_ready(imported).exists()
    Variant.objects.filter(pk=variant.pk).update(meta_status=Status.SYNCED)
    assert reconcile.deletions_ready(imported).exists()


@pytest.mark.django_db
def test_unmatched_meta_items_are_kept_without_an_explicit_choice(imported, owner):
    report = _ready_report(imported, lambda r: meta_row(r, "ghost", name="Ghost"))
    _apply(report, user=owner)
    assert not MetaItemDeletion.objects.exists()


@pytest.mark.django_db
def test_deleting_unmatched_items_records_who_chose_it(imported, owner):
    report = _ready_report(imported, lambda r: meta_row(r, "ghost", name="Ghost"))
    report = _apply(report, user=owner, delete_unmatched=True)
    assert report.delete_unmatched_chosen_by == owner and report.delete_unmatched_chosen_at
    deletion = MetaItemDeletion.objects.get()
    assert (deletion.retailer_id, deletion.reason, deletion.chosen_by) == ("ghost", "unmatched", owner)


@pytest.mark.django_db
def test_deletion_choice_without_anyone_is_refused(imported):
    report = _ready_report(imported, lambda r: meta_row(r, "ghost", name="Ghost"))
    with pytest.raises(reconcile.ReportNotApplicable):
        reconcile.confirm_import(report, user=None, delete_unmatched=True)


@pytest.mark.django_db
def test_a_superseded_report_cannot_be_applied(imported, owner):
    report = _ready_report(imported, lambda r: None)
    new_report(imported)  # a newer reading exists
    with pytest.raises(reconcile.ReportNotApplicable):
        reconcile.confirm_import(report, user=owner)


@pytest.mark.django_db
def test_link_mapping_keeps_the_other_tools_ids_and_never_enables_sync(tenant, store):
    linked = CatalogFactory(tenant=tenant, store=store, flow=Catalog.Flow.LINK, sync_enabled=False)
    product = ProductFactory(tenant=tenant, store=store)
    by_sku = VariantFactory(product=product, sku="TOOL-1")
    absent = VariantFactory(product=product, sku="TOOL-2")
    report = new_report(linked, purpose="link")
    meta_row(report, "TOOL-1", item_id="fb-9", name=product.title)
    run_matcher(report)
    reconcile.apply_link(report)
    by_sku.refresh_from_db()
    absent.refresh_from_db()
    linked.refresh_from_db()
    assert (by_sku.meta_status, by_sku.meta_item_id, by_sku.message_retailer_id) == (Status.SYNCED, "fb-9", "TOOL-1")
    assert absent.meta_status == Status.FAILED and absent.last_error_code == "NOT_IN_LINKED_CATALOG"
    assert linked.sync_enabled is False
    assert not MetaItemDeletion.objects.exists()


@pytest.mark.django_db
def test_replaced_id_is_deleted_only_once_every_successor_is_synced(imported, tenant, store):
    product = ProductFactory(tenant=tenant, store=store)
    a = VariantFactory(product=product, catalog=imported, previous_id="OLD", meta_status=Status.SYNCED)
    b = VariantFactory(product=product, catalog=imported, previous_id="OLD", meta_status=Status.PENDING)
    MetaItemDeletion.objects.create(tenant=tenant, catalog=imported, retailer_id="OLD", reason="replaced")
    assert not reconcile.deletions_ready(imported).exists()
    Variant.objects.filter(pk=b.pk).update(meta_status=Status.SYNCED)
    assert list(reconcile.deletions_ready(imported).values_list("retailer_id", flat=True)) == ["OLD"]
    assert a.previous_id == "OLD"


@pytest.mark.django_db
def test_our_own_retailer_id_is_never_queued_for_deletion(imported, tenant, store):
    ours = VariantFactory(product=ProductFactory(tenant=tenant, store=store), catalog=imported)
    MetaItemDeletion.objects.create(tenant=tenant, catalog=imported, retailer_id=ours.retailer_id, reason="unmatched")
    assert not reconcile.deletions_ready(imported).exists()


@pytest.mark.django_db
def test_previous_id_travels_in_the_item_payload(tenant, store):
    from catalog import items

    variant = VariantFactory(product=ProductFactory(tenant=tenant, store=store), previous_id="10024")
    assert items.meta_item(variant, variant.product, store)["previous_id"] == "10024"
