"""Polling Meta's diagnostics over real HTTP against the sandbox Graph API (live_server).

Items reach the sandbox through the real sync engine; the sandbox's item checks then
report errors the way Meta does (an image URL containing "small" is low resolution, a
"broken" link is broken...), and the poll turns them into issues.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from catalog import item_state
from catalog.graph_clients import client_for
from catalog.models import Catalog, Membership, SyncBatch, Variant
from catalog.sync import run
from catalog.tests.factories import (
    CatalogFactory,
    MetaConnectionFactory,
    ProductFactory,
    ShopifyStoreFactory,
    TenantFactory,
    UserFactory,
    VariantFactory,
)
from diagnostics import error_catalog as ec
from diagnostics.harvest import harvest_sync_results
from diagnostics.models import CatalogIssue, DiagnosticsRun, ErrorType, ItemIssue, Priority
from diagnostics.polling import poll_catalog, poll_catalog_diagnostics, refresh_all_errors, refresh_item_errors
from diagnostics.taxonomy import load_error_taxonomy

pytestmark = pytest.mark.django_db(transaction=True)

LONG_DESCRIPTION = "<p>A soft organic cotton shirt with a relaxed fit, made to last for many years.</p>"
GOOD_IMAGE = "https://cdn.example.com/images/shirt-large.jpg"
SMALL_IMAGE = "https://cdn.example.com/images/shirt-small.jpg"


@pytest.fixture
def meta(live_server, settings):
    """A sandbox business served over real HTTP, without artificial delays."""
    from sandbox.graph_accounts import create_sandbox_business

    settings.META_GRAPH_URL = live_server.url + "/sandbox/graph"
    settings.SANDBOX_BATCH_DELAY_SECONDS = 0
    settings.META_RETRY_BASE_DELAY = 0
    settings.META_MAX_RETRIES = 1
    settings.META_THROTTLE_MAX_DELAY = 0
    settings.META_MAX_INLINE_WAIT = 1
    settings.SYNC_POLL_DELAYS = [0]
    load_error_taxonomy()
    return create_sandbox_business(name="Diagnostics tests")


@pytest.fixture
def shop(meta) -> Catalog:
    tenant = TenantFactory(slug="shop")
    store = ShopifyStoreFactory(tenant=tenant)
    connection = MetaConnectionFactory(
        tenant=tenant,
        business_id=meta["business_id"],
        access_token=meta["access_token"],
        token_last4=meta["access_token"][-4:],
    )
    return CatalogFactory(tenant=tenant, store=store, connection=connection, meta_catalog_id=meta["catalog_id"])


def add_variants(catalog: Catalog, n: int, *, image: str = GOOD_IMAGE) -> list[Variant]:
    """``n`` variants of one product that pass every sandbox check unless ``image`` says otherwise."""
    product = ProductFactory(
        tenant=catalog.tenant,
        store=catalog.store,
        description_html=LONG_DESCRIPTION,
        google_product_category="Home & Garden > Decor",
        product_type="Home",
    )
    created = [VariantFactory(product=product, catalog=catalog, image_url=image) for _ in range(n)]
    item_state.refresh_variants(Variant.objects.filter(pk__in=[v.pk for v in created]))
    return created


def sync(catalog: Catalog) -> None:
    run.sync_now(catalog, mode="batch", wait=True, timeout=60)


def open_issues(catalog: Catalog, source: str = ItemIssue.Source.DIAGNOSTICS_POLL):
    return ItemIssue.objects.open().filter(catalog=catalog, source=source)


def test_poll_opens_one_issue_per_item_and_type(shop):
    small = add_variants(shop, 2, image=SMALL_IMAGE)
    add_variants(shop, 3)
    sync(shop)
    result = poll_catalog(shop)
    assert result.status == DiagnosticsRun.Status.OK
    issues = list(open_issues(shop).select_related("error_type"))
    assert {(i.variant_id, i.error_type.code, i.priority) for i in issues} == {
        (v.pk, "IMAGE_RESOLUTION_LOW", Priority.HIGH) for v in small
    }
    assert "500 x 500" in issues[0].message  # Meta's own text for the item
    assert result.opened == 2 and result.items_seen == 2


def test_polling_again_without_changes_writes_nothing(shop):
    add_variants(shop, 2, image=SMALL_IMAGE)
    sync(shop)
    poll_catalog(shop)
    again = poll_catalog(shop)
    assert (again.opened, again.updated, again.resolved) == (0, 0, 0)
    assert open_issues(shop).count() == 2


def test_issue_is_resolved_when_meta_stops_reporting_it(shop):
    fixed, still = add_variants(shop, 2, image=SMALL_IMAGE)
    sync(shop)
    poll_catalog(shop)
    first_seen = open_issues(shop).get(variant=still).first_seen
    Variant.objects.filter(pk=fixed.pk).update(image_url=GOOD_IMAGE)
    item_state.refresh_variants(Variant.objects.filter(pk=fixed.pk))
    sync(shop)
    result = poll_catalog(shop)
    assert result.resolved == 1
    assert list(open_issues(shop).values_list("variant_id", flat=True)) == [still.pk]
    assert open_issues(shop).get().first_seen == first_seen
    assert ItemIssue.objects.get(variant=fixed).resolved_at is not None


def test_poll_by_error_type_only_touches_that_type(shop):
    add_variants(shop, 1, image=SMALL_IMAGE)
    sync(shop)
    result = poll_catalog(shop, error_type="QUALITY_ITEM_LINK_BROKEN")
    assert result.status == DiagnosticsRun.Status.OK and result.scope == "error_type=QUALITY_ITEM_LINK_BROKEN"
    assert not open_issues(shop).exists()
    poll_catalog(shop, error_type="IMAGE_RESOLUTION_LOW")
    assert open_issues(shop).count() == 1


def test_meta_texts_refresh_the_taxonomy(shop):
    add_variants(shop, 1, image=SMALL_IMAGE)
    sync(shop)
    poll_catalog(shop)
    image = ErrorType.objects.get(code="IMAGE_RESOLUTION_LOW")
    assert image.meta_title == "Missing or invalid images" and image.meta_updated_at
    assert image.title == "Image resolution too low"  # our wording stays what merchants read


def test_revoked_token_becomes_a_catalog_issue_and_a_banner(shop, meta, client):
    from sandbox import faults

    add_variants(shop, 1, image=SMALL_IMAGE)
    sync(shop)
    faults.configure(token=meta["access_token"], revoked=True)
    result = poll_catalog(shop)
    assert result.status == DiagnosticsRun.Status.FAILED and result.error_code == "190"
    issue = CatalogIssue.objects.open().get(catalog=shop)
    assert issue.error_type.code == ec.TOKEN_REVOKED
    merchant = UserFactory(username="owner", is_staff=False)
    Membership.objects.create(user=merchant, tenant=shop.tenant, role=Membership.Role.OWNER)
    client.force_login(merchant)
    page = client.get(reverse("health:index")).content.decode()
    assert "Meta access token revoked" in page and 'data-testid="stale"' in page

    faults.configure(token=meta["access_token"], revoked=False)  # as if a new token was pasted
    assert poll_catalog(shop).status == DiagnosticsRun.Status.OK
    assert not CatalogIssue.objects.open().filter(catalog=shop).exists()


def test_meta_outage_becomes_a_catalog_issue(shop):
    from sandbox import faults

    faults.configure(outage=True)
    result = poll_catalog(shop)
    assert result.status == DiagnosticsRun.Status.FAILED
    assert CatalogIssue.objects.open().get(catalog=shop).error_type.code == ec.META_OUTAGE
    faults.reset()


def test_catalog_diagnostics_edge_becomes_catalog_issues(shop):
    add_variants(shop, 2, image=SMALL_IMAGE)
    sync(shop)
    result = poll_catalog_diagnostics(shop)
    assert result.status == DiagnosticsRun.Status.OK
    groups = {i.error_type.code: i for i in CatalogIssue.objects.open().filter(catalog=shop)}
    assert groups["DIAGNOSTICS_IMAGE_QUALITY"].affected_items == 2
    assert groups["DIAGNOSTICS_IMAGE_QUALITY"].priority == Priority.HIGH
    assert groups["DIAGNOSTICS_IMAGE_QUALITY"].title == "Fix image issues"


def test_catalog_diagnostics_groups_resolve_when_gone(shop):
    (variant,) = add_variants(shop, 1, image=SMALL_IMAGE)
    sync(shop)
    poll_catalog_diagnostics(shop)
    Variant.objects.filter(pk=variant.pk).update(image_url=GOOD_IMAGE)
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    sync(shop)
    poll_catalog_diagnostics(shop)
    assert not CatalogIssue.objects.open().filter(catalog=shop, error_type__code="DIAGNOSTICS_IMAGE_QUALITY")


def test_catalog_all_errors_refreshes_metas_texts(shop):
    assert refresh_all_errors(client_for(shop)) > 100
    assert ErrorType.objects.get(code="QUALITY_ITEM_LINK_BROKEN").meta_title


def test_page_view_check_upserts_the_items_errors_and_is_cached(shop):
    (variant,) = add_variants(shop, 1, image=SMALL_IMAGE)
    sync(shop)
    check = refresh_item_errors(shop, [variant], product_id=variant.product_id)
    assert check.ok and check.review[variant.retailer_id]
    assert open_issues(shop).get().error_type.code == "IMAGE_RESOLUTION_LOW"
    Variant.objects.filter(pk=variant.pk).update(image_url=GOOD_IMAGE)
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    sync(shop)
    assert refresh_item_errors(shop, [variant], product_id=variant.product_id) is not None
    assert open_issues(shop).count() == 1  # cached: Meta was not asked again
    refresh_item_errors(shop, [variant], product_id=variant.product_id, force=True)
    assert not open_issues(shop).exists()


def test_merchant_product_page_asks_meta(shop, client):
    (variant,) = add_variants(shop, 1, image=SMALL_IMAGE)
    sync(shop)
    merchant = UserFactory(username="owner", is_staff=False)
    Membership.objects.create(user=merchant, tenant=shop.tenant, role=Membership.Role.OWNER)
    client.force_login(merchant)
    response = client.get(reverse("health:product", args=[variant.product_id]))
    health = response.context["health"]
    assert health.checked_at and not health.check_error
    assert health.variants[0].headline == "In the catalog but not shown: image resolution too low."


def test_rejected_item_becomes_a_batch_issue_right_after_the_sync(shop):
    (bad,) = add_variants(shop, 1, image="http://intranet/not-an-image.jpg")
    sync(shop)
    bad.refresh_from_db()
    assert bad.meta_status == Variant.SyncStatus.FAILED
    harvest_sync_results(shop)
    issue = open_issues(shop, ItemIssue.Source.BATCH).get()
    assert issue.variant == bad and issue.message == bad.last_error


def test_feed_upload_errors_become_issues(shop, meta):
    (variant,) = add_variants(shop, 1)
    client = client_for(shop)
    feed = client.post(f"{meta['catalog_id']}/product_feeds", {"name": "Test feed"})
    header = "id,title,description,availability,condition,price,link,image_link,brand\n"
    row = (
        f"{variant.retailer_id},Shirt,A long enough description of a fine shirt,in stock,new,"
        "not-a-price,https://shop.example.com/products/shirt,https://cdn.example.com/shirt.jpg,Acme\n"
    )
    upload = client.post(f"{feed['id']}/uploads", files={"file": ("feed.csv", io.BytesIO((header + row).encode()))})
    client.get(upload["id"], fields="id,end_time")  # let the sandbox process the upload
    SyncBatch.objects.create(
        tenant=shop.tenant,
        catalog=shop,
        kind=SyncBatch.Kind.REPLACE_FEED,
        state=SyncBatch.State.FINISHED,
        handle=upload["id"],
        item_count=1,
        finished_at=timezone.now(),
    )
    harvest_sync_results(shop)
    issue = open_issues(shop, ItemIssue.Source.FEED).get()
    assert issue.variant == variant and "row" in issue.reference
    feed_issue = CatalogIssue.objects.open().get(catalog=shop, source=CatalogIssue.Source.FEED)
    assert feed_issue.affected_items == 1


def test_poll_diagnostics_command(shop):
    add_variants(shop, 1, image=SMALL_IMAGE)
    sync(shop)
    out = io.StringIO()
    call_command("poll_diagnostics", "--tenant", "shop", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["catalogs"][0]["status"] == "ok" and result["catalogs"][0]["opened"] == 1


def test_poll_diagnostics_command_rejects_other_tenants_catalog(shop):
    other = CatalogFactory(tenant=TenantFactory(slug="other"))
    with pytest.raises(CommandError, match="does not belong"):
        call_command("poll_diagnostics", "--tenant", "shop", "--catalog", str(other.pk))
    with pytest.raises(CommandError, match="Unknown tenant"):
        call_command("poll_diagnostics", "--tenant", "nobody")
