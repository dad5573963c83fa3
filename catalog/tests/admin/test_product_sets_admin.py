"""Product set admin: Meta's count beside ours, sets defined by filter, collection sets read-only, deletion."""

import pytest
from django.urls import reverse

from catalog.models import ProductSet
from catalog.sync.product_sets import filter_problem
from catalog.tests.factories import ProductSetFactory

pytestmark = pytest.mark.django_db


def test_the_list_shows_our_count_beside_metas(staff_client, catalog):
    ProductSetFactory(
        catalog=catalog,
        name="Winter",
        item_count=12,
        meta_product_count=11,
        needs_sync=False,
        meta_product_set_id="123",
    )
    response = staff_client.get(reverse("admin:catalog_productset_changelist"))
    assert response.status_code == 200
    assert "12 / 11" in response.content.decode()


def test_staff_define_a_set_by_filter(staff_client, tenant, catalog):
    response = staff_client.post(
        reverse("admin:catalog_productset_add"),
        {
            "tenant": tenant.pk,
            "catalog": catalog.pk,
            "name": "Acme under 20",
            "filter": '{"and": [{"brand": {"eq": "Acme"}}, {"price": {"lt": 2000}}]}',
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    product_set = ProductSet.objects.get(name="Acme under 20")
    assert product_set.needs_sync and product_set.shopify_collection_id is None
    assert product_set.meta_marker == f"galantis-set-{product_set.pk}"


@pytest.mark.parametrize(
    "bad", ["{}", '{"brand": "Acme"}', '{"brand": {"like": "A"}}', '{"and": []}', '{"retailer_id": {"is_any": []}}']
)
def test_a_filter_meta_would_read_as_every_item_or_refuse_is_refused(staff_client, tenant, catalog, bad):
    response = staff_client.post(
        reverse("admin:catalog_productset_add"),
        {
            "tenant": tenant.pk,
            "catalog": catalog.pk,
            "name": "Bad",
            "filter": bad,
        },
    )
    assert response.status_code == 200 and not ProductSet.objects.filter(name="Bad").exists()


def test_filter_grammar():
    assert filter_problem({"or": [{"brand": {"eq": "A"}}, {"not": {"price": {"gte": 100}}}]}) == ""
    assert "one value" in filter_problem({"brand": {"eq": ["A"]}})


def test_a_collection_set_is_read_only_and_not_deletable_in_the_admin(staff_client, catalog):
    product_set = ProductSetFactory(catalog=catalog, shopify_collection_id=77, name="From Shopify")
    response = staff_client.get(reverse("admin:catalog_productset_change", args=[product_set.pk]))
    form = response.context["adminform"].form
    assert "name" not in form.fields and "filter" not in form.fields
    assert staff_client.get(reverse("admin:catalog_productset_delete", args=[product_set.pk])).status_code == 403


def test_deleting_a_staff_set_that_meta_holds_queues_its_deletion_there(staff_client, catalog):
    product_set = ProductSetFactory(catalog=catalog, filter={"brand": {"eq": "A"}}, meta_product_set_id="555")
    response = staff_client.post(reverse("admin:catalog_productset_delete", args=[product_set.pk]), {"post": "yes"})
    assert response.status_code == 302
    product_set.refresh_from_db()
    assert product_set.removed_at is not None and product_set.needs_sync


def test_viewers_cannot_confirm_a_live_deletion(viewer_client, catalog):
    product_set = ProductSetFactory(catalog=catalog, shopify_collection_id=78, meta_product_set_id="9")
    ProductSet.objects.filter(pk=product_set.pk).update(removed_at="2026-01-01T00:00:00Z")
    viewer_client.post(
        reverse("admin:catalog_productset_changelist"),
        {
            "action": "confirm_live_deletion",
            "_selected_action": [product_set.pk],
            "index": 0,
        },
    )
    product_set.refresh_from_db()
    assert product_set.live_deletion_confirmed_at is None


def test_staff_confirm_a_live_deletion(staff_client, catalog):
    product_set = ProductSetFactory(catalog=catalog, shopify_collection_id=79, meta_product_set_id="9")
    ProductSet.objects.filter(pk=product_set.pk).update(
        removed_at="2026-01-01T00:00:00Z", needs_sync=False, deletion_blocked_at="2026-01-01T00:00:00Z"
    )
    staff_client.post(
        reverse("admin:catalog_productset_changelist"),
        {
            "action": "confirm_live_deletion",
            "_selected_action": [product_set.pk],
            "index": 0,
        },
    )
    product_set.refresh_from_db()
    assert product_set.live_deletion_confirmed_at is not None and product_set.needs_sync
    assert product_set.deletion_blocked_at is None
