"""The admin as staff use it (issue 18): lists that lead with status and problem, sections and
breadcrumbs that follow the index, widgets instead of JSON, counts that add up, live progress."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.admin.display import humanize_duration
from catalog.models import ImportRun, Variant
from catalog.tests.factories import (
    ImportRunFactory,
    ProductFactory,
    SyncBatchFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def test_variant_list_leads_with_status_verdict_and_problem(staff_client, catalog):
    VariantFactory(product=ProductFactory(tenant=catalog.tenant, store=catalog.store), catalog=catalog)
    response = staff_client.get(reverse("admin:catalog_variant_changelist"))
    columns = list(response.context["cl"].list_display)
    assert columns[:5] == ["action_checkbox", "status", "verdict_badge", "problem", "variant"]
    assert "tenant" not in columns  # one visible tenant: no column saying the same on every row


def test_variant_list_filters_by_problem_type(staff_client, catalog):
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    local, meta = VariantFactory.create_batch(2, product=product, catalog=catalog)
    Variant.objects.filter(pk=local.pk).update(
        meta_status=Variant.SyncStatus.FAILED, failure_source=Variant.FailureSource.LOCAL
    )
    Variant.objects.filter(pk=meta.pk).update(
        meta_status=Variant.SyncStatus.FAILED, failure_source=Variant.FailureSource.META_BATCH
    )
    response = staff_client.get(
        reverse("admin:catalog_variant_changelist"), {"failure_source__exact": Variant.FailureSource.LOCAL}
    )
    assert [v.pk for v in response.context["cl"].result_list] == [local.pk]
    titles = [spec.title for spec in response.context["cl"].filter_specs]
    assert "problem type" in titles and "sent to Meta" in titles


def test_item_issue_filters_have_distinct_titles(staff_client):
    response = staff_client.get(reverse("admin:diagnostics_itemissue_changelist"))
    titles = [spec.title for spec in response.context["cl"].filter_specs]
    assert len(titles) == len(set(titles))
    assert {"problem type", "reported by"} <= set(titles)


def test_import_runs_and_webhook_events_sit_under_shopify(admin_client):
    response = admin_client.get(reverse("admin:section", kwargs={"key": "shopify"}))
    names = [model["name"] for model in response.context["app_list"][0]["models"]]
    assert names == ["Shopify stores", "Import runs", "Webhook events"]


def test_breadcrumbs_name_the_section_not_the_app(staff_client, store):
    run = ImportRunFactory(store=store)
    shopify = reverse("admin:section", kwargs={"key": "shopify"})
    for url in (
        reverse("admin:catalog_importrun_changelist"),
        reverse("admin:catalog_importrun_change", args=[run.pk]),
    ):
        crumbs = staff_client.get(url).content.decode().split('<div class="breadcrumbs">', 1)[1].split("</div>", 1)[0]
        assert f'<a href="{shopify}">Shopify</a>' in crumbs and "Catalog sync" not in crumbs


def test_view_site_and_index_lead_to_the_merchant_pages(staff_client):
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert 'href="/health/">View site' in page.replace("\n", "") or 'href="/health/"' in page
    assert reverse("health:index") in page and reverse("connection:whatsapp") in page


def test_sandbox_models_are_named_apart_from_the_products(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Webhook deliveries" in page and "Webhook deliverys" not in page
    assert "Shop products" in page and "Meta items" in page and "Meta product sets" in page


def test_tags_are_edited_as_text_and_stored_as_a_list(owner_client, store):
    product = ProductFactory(tenant=store.tenant, store=store, tags=["summer", "cotton"])
    url = reverse("admin:catalog_product_change", args=[product.pk])
    form = owner_client.get(url).context["adminform"].form
    assert form["tags"].value() == "summer, cotton"
    assert form.fields["tags"].to_python(" linen, summer ,, linen ") == ["linen", "summer"]


def test_options_are_edited_one_per_line(owner_client, catalog):
    variant = VariantFactory(
        product=ProductFactory(tenant=catalog.tenant, store=catalog.store),
        catalog=catalog,
        options={"Size": "M", "Color": "Blue"},
    )
    form = owner_client.get(reverse("admin:catalog_variant_change", args=[variant.pk])).context["adminform"].form
    assert form["options"].value() == "Size: M\nColor: Blue"
    field = form.fields["options"]
    assert field.to_python("Size: L\n\nColor : Red") == {"Size": "L", "Color": "Red"}
    with pytest.raises(Exception, match="Name: value"):
        field.clean("just words")


def test_variant_page_has_no_related_object_icons_beside_the_catalog(owner_client, catalog):
    variant = VariantFactory(product=ProductFactory(tenant=catalog.tenant, store=catalog.store), catalog=catalog)
    page = owner_client.get(reverse("admin:catalog_variant_change", args=[variant.pk])).content.decode()
    assert 'id="delete_id_catalog"' not in page and 'id="add_id_catalog"' not in page


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(33.44, "33 s"), (0.2, "under 1 s"), (125, "2 min 5 s"), (3725, "1 h 2 min"), (3 * 86400 + 3600, "3 d 1 h")],
)
def test_durations_read_at_a_glance(seconds, text):
    assert humanize_duration(timedelta(seconds=seconds)) == text


def test_batch_page_explains_counts_that_add_up_and_links_its_products(staff_client, catalog):
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store, title="Rejected Tee")
    rejected = VariantFactory(product=product, catalog=catalog)
    batch = SyncBatchFactory(
        catalog=catalog,
        item_count=10,
        synced_count=6,
        error_count=1,
        stale_count=2,
        errors=[{"line": 1, "id": rejected.retailer_id, "message": "Bad image"}],
    )
    other_tenant_product = ProductFactory(title="Not yours")
    VariantFactory(product=other_tenant_product, retailer_id=rejected.retailer_id)
    page = staff_client.get(reverse("admin:catalog_syncbatch_change", args=[batch.pk])).content.decode()
    counts = page.split('<table class="batch-counts">', 1)[1].split("</table>", 1)[0]
    for line in (
        '10</td><th scope="row">sent',
        '6</td><th scope="row">synced',
        '1</td><th scope="row">rejected',
        '2</td><th scope="row">changed meanwhile',
        '1</td><th scope="row">not reported',
        '10</td><th scope="row">= sent',
    ):
        assert line in counts
    assert reverse("admin:catalog_product_change", args=[product.pk]) in page and "Rejected Tee" in page
    assert "Not yours" not in page


def test_running_import_shows_progress_and_polls_it(staff_client, store):
    run = ImportRunFactory(
        store=store,
        state=ImportRun.State.RUNNING,
        products_total=200,
        products_seen=50,
        started_at=timezone.now() - timedelta(seconds=30),
    )
    page = staff_client.get(reverse("admin:catalog_importrun_changelist")).content.decode()
    url = reverse("admin:catalog_importrun_progress", args=[run.pk])
    assert f'data-progress-url="{url}"' in page and "catalog/progress.js" in page
    data = staff_client.get(url).json()
    assert data["running"] and data["percent"] == 25 and data["done"] == 50 and data["total"] == 200
    assert "about 1 min 3" in data["text"]  # 150 products left at 50 per 30 s


def test_progress_of_another_tenants_import_is_404(staff_client, other_tenant):
    run = ImportRunFactory(store__tenant=other_tenant, state=ImportRun.State.RUNNING)
    assert staff_client.get(reverse("admin:catalog_importrun_progress", args=[run.pk])).status_code == 404


def test_catalog_sync_progress_counts_sent_of_all(staff_client, catalog):
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    VariantFactory.create_batch(3, product=product, catalog=catalog, meta_status=Variant.SyncStatus.SYNCED)
    VariantFactory(product=product, catalog=catalog, meta_status=Variant.SyncStatus.PENDING)
    data = staff_client.get(reverse("admin:catalog_catalog_progress", args=[catalog.pk])).json()
    assert data["running"] and (data["done"], data["total"]) == (3, 4)
    page = staff_client.get(reverse("admin:catalog_catalog_change", args=[catalog.pk])).content.decode()
    assert "data-progress-url" in page


def test_every_list_fits_without_the_tenant_column_for_single_tenant_staff(staff_client, catalog):
    for name in (
        "catalog_product",
        "catalog_catalog",
        "catalog_syncbatch",
        "catalog_importrun",
        "catalog_webhookevent",
        "diagnostics_itemissue",
    ):
        response = staff_client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == 200
        assert "tenant" not in response.context["cl"].list_display, name
