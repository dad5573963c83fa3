"""The change list's rows, rendered once per page: the same HTML as Django's ``items_for_result``."""

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.urls import reverse

from catalog.admin.changelist import TenantChangeList
from catalog.models import Variant
from catalog.tests.factories import (
    CatalogFactory,
    ImportRunFactory,
    MembershipFactory,
    ProductFactory,
    ShopifyStoreFactory,
    SyncBatchFactory,
    VariantFactory,
    WebhookEventFactory,
)

pytestmark = pytest.mark.django_db

TENANT_SCOPED = sorted(
    (
        model
        for model, model_admin in admin.site._registry.items()
        if issubclass(model_admin.get_changelist(None), TenantChangeList)
    ),
    key=lambda model: model._meta.label,
)


@pytest.fixture
def rows_of_every_kind(tenant):
    store = ShopifyStoreFactory(tenant=tenant)
    catalog = CatalogFactory(tenant=tenant)
    product = ProductFactory(tenant=tenant, store=store, title="Hat <b>& co</b>")
    VariantFactory(product=product, catalog=catalog, sku="", title="M")
    VariantFactory(product=product, catalog=catalog, meta_status=Variant.SyncStatus.FAILED, last_error="Bad <image>")
    SyncBatchFactory(tenant=tenant, catalog=catalog)
    ImportRunFactory(tenant=tenant, store=store)
    WebhookEventFactory(tenant=tenant, store=store)
    MembershipFactory(tenant=tenant)


def djangos_rows(changelist) -> list[str]:
    return ["".join(items_for_result(changelist, row, None)) for row in changelist.result_list]


@pytest.mark.parametrize("model", TENANT_SCOPED, ids=lambda model: model._meta.label)
def test_every_tenant_scoped_list_renders_djangos_html(admin_client, rows_of_every_kind, model):
    response = admin_client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    if "cl" not in response.context:
        pytest.skip("its list URL serves a page of its own, not a change list")
    changelist = response.context["cl"]
    rows = changelist.rendered_rows()
    assert [row[0] for row in rows] == djangos_rows(changelist)
    page = response.content.decode()
    assert all(row[0] in page for row in rows)


def test_a_filtered_list_keeps_its_filters_in_each_rows_link(admin_client, rows_of_every_kind):
    response = admin_client.get(reverse("admin:catalog_variant_changelist") + "?meta_status__exact=FAILED&o=-1")
    changelist = response.context["cl"]
    [row] = changelist.rendered_rows()
    assert row[0] == djangos_rows(changelist)[0]
    assert "_changelist_filters=meta_status__exact%3DFAILED%26o%3D-1" in row[0]


def test_a_popup_is_left_to_django(admin_client, rows_of_every_kind):
    response = admin_client.get(reverse("admin:catalog_variant_changelist") + "?_popup=1&_to_field=id")
    changelist = response.context["cl"]
    assert changelist.rendered_rows() is None
    assert 'data-popup-opener="' in response.content.decode()
