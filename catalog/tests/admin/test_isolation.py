"""Tenant isolation in every admin: staff of tenant A never see or reach tenant B's rows."""

import pytest
from django.urls import reverse

from catalog.tests.factories import (
    CatalogFactory,
    MembershipFactory,
    MetaConnectionFactory,
    ProductFactory,
    ProductSetFactory,
    ShopifyStoreFactory,
    SyncBatchFactory,
    VariantFactory,
)

# Every tenant-owned admin: (model name, factory building a row for a given tenant).
TENANT_ROWS = {
    "shopifystore": lambda t: ShopifyStoreFactory(tenant=t),
    "metaconnection": lambda t: MetaConnectionFactory(tenant=t),
    "catalog": lambda t: CatalogFactory(tenant=t),
    "product": lambda t: ProductFactory(tenant=t),
    "variant": lambda t: VariantFactory(product=ProductFactory(tenant=t)),
    "syncbatch": lambda t: SyncBatchFactory(catalog=CatalogFactory(tenant=t)),
    "productset": lambda t: ProductSetFactory(catalog=CatalogFactory(tenant=t)),
    "membership": lambda t: MembershipFactory(tenant=t),
}
ALL_ADMINS = [*TENANT_ROWS, "tenant"]


def row_for(model_name, tenant):
    return tenant if model_name == "tenant" else TENANT_ROWS[model_name](tenant)


def changelist(model_name):
    return reverse(f"admin:catalog_{model_name}_changelist")


@pytest.mark.django_db
@pytest.mark.parametrize("model_name", ALL_ADMINS)
def test_staff_changelist_lists_own_tenant_rows_only(staff_client_of_tenant_a, tenant, other_tenant, model_name):
    own, foreign = row_for(model_name, tenant), row_for(model_name, other_tenant)
    response = staff_client_of_tenant_a.get(changelist(model_name))
    assert response.status_code == 200
    listed = {obj.pk for obj in response.context["cl"].result_list}
    assert own.pk in listed
    assert foreign.pk not in listed


@pytest.mark.django_db
@pytest.mark.parametrize("model_name", ALL_ADMINS)
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_staff_gets_404_for_other_tenants_object(staff_client_of_tenant_a, other_tenant, model_name, view):
    foreign = row_for(model_name, other_tenant)
    url = reverse(f"admin:catalog_{model_name}_{view}", args=[foreign.pk])
    assert staff_client_of_tenant_a.get(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("model_name", ALL_ADMINS)
def test_staff_opens_own_tenants_object(staff_client_of_tenant_a, tenant, model_name):
    own = row_for(model_name, tenant)
    response = staff_client_of_tenant_a.get(reverse(f"admin:catalog_{model_name}_change", args=[own.pk]))
    assert response.status_code == 200
