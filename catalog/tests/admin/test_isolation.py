"""Tenant isolation in every admin: staff of tenant A never see or reach tenant B's rows."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from catalog import tenants as tenant_services
from catalog.models import Membership
from catalog.tests.admin.formdata import changeform_data
from catalog.tests.factories import (
    CatalogFactory,
    MembershipFactory,
    MetaConnectionFactory,
    ProductFactory,
    ProductSetFactory,
    ShopifyStoreFactory,
    SyncBatchFactory,
    TenantFactory,
    UserFactory,
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


# --- Foreign-key choices ---------------------------------------------------------------------

FK_CHOICES = [
    # (admin page model, form field, factory for a choosable row of a tenant)
    ("productset", "tenant", lambda t: t),
    ("catalog", "store", lambda t: ShopifyStoreFactory(tenant=t)),
    ("catalog", "connection", lambda t: MetaConnectionFactory(tenant=t)),
    ("productset", "catalog", lambda t: CatalogFactory(tenant=t)),
    ("shopifystore", "tenant", lambda t: t),
    ("metaconnection", "tenant", lambda t: t),
]


def form_choices(response, field):
    return {obj.pk for obj in response.context["adminform"].form.fields[field].queryset}


@pytest.mark.django_db
@pytest.mark.parametrize(("model_name", "field", "make"), FK_CHOICES)
def test_add_form_offers_own_tenants_rows_only(owner_client, tenant, other_tenant, model_name, field, make):
    """Tenant A's owner (whose role may open every add form a member may) sees none of B's rows."""
    own, foreign = make(tenant), make(other_tenant)
    response = owner_client.get(reverse(f"admin:catalog_{model_name}_add"))
    choices = form_choices(response, field)
    assert own.pk in choices
    assert foreign.pk not in choices


@pytest.mark.django_db
def test_variant_change_form_offers_own_catalogs_only(staff_client_of_tenant_a, tenant, other_tenant):
    variant = VariantFactory(product=ProductFactory(tenant=tenant))
    own, foreign = CatalogFactory(tenant=tenant), CatalogFactory(tenant=other_tenant)
    response = staff_client_of_tenant_a.get(reverse("admin:catalog_variant_change", args=[variant.pk]))
    choices = form_choices(response, "catalog")
    assert own.pk in choices and foreign.pk not in choices


@pytest.mark.django_db
def test_posting_another_tenants_store_is_refused(staff_client_of_tenant_a, tenant, other_tenant):
    product = ProductFactory(tenant=tenant)
    foreign_store = ShopifyStoreFactory(tenant=other_tenant)
    url = reverse("admin:catalog_product_change", args=[product.pk])
    page = staff_client_of_tenant_a.get(url)
    response = staff_client_of_tenant_a.post(url, changeform_data(page, store=foreign_store.pk))
    assert response.status_code == 200  # the form comes back with an error
    assert response.context["adminform"].form.errors["store"]
    product.refresh_from_db()
    assert product.store_id != foreign_store.pk


@pytest.mark.django_db
def test_cross_tenant_relation_is_refused_for_a_member_of_both(owner_client, owner_user, tenant, other_tenant):
    """A user owning tenants A and B may still not hang A's store on B's catalog."""
    tenant_services.add_member(other_tenant, owner_user, role=Membership.Role.OWNER)
    # A saved catalog's store is read-only (switching goes through the confirmed flow
    # change), so the add form is where a store can be picked.
    url = reverse("admin:catalog_catalog_add")
    page = owner_client.get(url)
    response = owner_client.post(
        url, changeform_data(page, tenant=other_tenant.pk, name="B", store=ShopifyStoreFactory(tenant=tenant).pk)
    )
    assert "belongs to tenant" in str(response.context["adminform"].form.errors["store"])


# --- Search, filters, actions, autocomplete ----------------------------------------------------


@pytest.mark.django_db
def test_search_does_not_find_other_tenants_rows(staff_client_of_tenant_a, other_tenant):
    foreign = VariantFactory(product=ProductFactory(tenant=other_tenant, title="Secret Product"), sku="B-SKU")
    for model_name, term in [
        ("product", "Secret"),
        ("product", str(foreign.product.shopify_product_id)),
        ("variant", "B-SKU"),
        ("variant", foreign.retailer_id),
    ]:
        response = staff_client_of_tenant_a.get(reverse(f"admin:catalog_{model_name}_changelist"), {"q": term})
        assert list(response.context["cl"].result_list) == []


@pytest.mark.django_db
def test_filtering_by_another_tenant_shows_nothing(staff_client_of_tenant_a, other_tenant):
    foreign = ProductFactory(tenant=other_tenant)
    for params in ({"tenant__id__exact": other_tenant.pk}, {"store__id__exact": foreign.store_id}):
        response = staff_client_of_tenant_a.get(reverse("admin:catalog_product_changelist"), params)
        assert list(response.context["cl"].result_list) == []


@pytest.mark.django_db
def test_filter_choices_list_own_tenants_rows_only(staff_client_of_tenant_a, staff_user, tenant, other_tenant):
    third = TenantFactory(slug="tenant-c")
    tenant_services.add_member(third, staff_user)  # two visible tenants: the tenant filter shows
    own_store, foreign_store = ShopifyStoreFactory(tenant=tenant), ShopifyStoreFactory(tenant=other_tenant)
    ShopifyStoreFactory(tenant=third)
    response = staff_client_of_tenant_a.get(reverse("admin:catalog_product_changelist"))
    specs = {spec.title: spec for spec in response.context["cl"].filter_specs}
    assert {pk for pk, _ in specs["tenant"].lookup_choices} == {tenant.pk, third.pk}
    store_choices = {pk for pk, _ in specs["store"].lookup_choices}
    assert own_store.pk in store_choices and foreign_store.pk not in store_choices


@pytest.mark.django_db
def test_single_tenant_staff_sees_no_tenant_filter(staff_client_of_tenant_a, tenant, other_tenant):
    response = staff_client_of_tenant_a.get(reverse("admin:catalog_product_changelist"))
    assert "tenant" not in [spec.title for spec in response.context["cl"].filter_specs if spec.has_output()]


@pytest.mark.django_db
def test_actions_ignore_other_tenants_rows(staff_client_of_tenant_a, other_tenant):
    foreign = ProductFactory(tenant=other_tenant)
    response = staff_client_of_tenant_a.post(
        reverse("admin:catalog_product_changelist"),
        {"action": "exclude_from_meta", "_selected_action": [foreign.pk]},
    )
    assert response.status_code in (200, 302)
    foreign.refresh_from_db()
    assert not foreign.excluded_from_meta


@pytest.mark.django_db
def test_delete_action_ignores_other_tenants_rows(other_tenant, tenant):
    """Even with every global catalog permission: those grant nothing on tenant data."""
    user = UserFactory(username="powerful-a")
    tenant_services.add_member(tenant, user)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="catalog"))
    client = Client()
    client.force_login(user)
    foreign = ProductSetFactory(catalog=CatalogFactory(tenant=other_tenant))
    client.post(
        reverse("admin:catalog_productset_changelist"),
        {"action": "delete_selected", "_selected_action": [foreign.pk], "post": "yes"},
    )
    assert type(foreign).objects.filter(pk=foreign.pk).exists()


@pytest.mark.django_db
def test_autocomplete_offers_own_tenants_products_only(staff_client_of_tenant_a, tenant, other_tenant):
    own = ProductFactory(tenant=tenant, title="Shared Name")
    ProductFactory(tenant=other_tenant, title="Shared Name")
    response = staff_client_of_tenant_a.get(
        reverse("admin:autocomplete"),
        {"app_label": "catalog", "model_name": "variant", "field_name": "product", "term": "Shared"},
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(own.pk)]


@pytest.mark.django_db
def test_index_overview_lists_own_tenants_only(staff_client_of_tenant_a, tenant, other_tenant):
    response = staff_client_of_tenant_a.get(reverse("admin:index"))
    assert [row["tenant"] for row in response.context["tenant_overview"]] == [tenant]


@pytest.mark.django_db
def test_membership_inline_offers_fellow_members_only(owner_client, owner_user, staff_user, tenant, other_tenant):
    outsider = MembershipFactory(tenant=other_tenant).user
    response = owner_client.get(reverse("admin:catalog_tenant_change", args=[tenant.pk]))
    formset = response.context["inline_admin_formsets"][0].formset
    users = {u.pk for u in formset.empty_form.fields["user"].queryset}
    assert {owner_user.pk, staff_user.pk} <= users and outsider.pk not in users


@pytest.mark.django_db
def test_staff_without_membership_is_refused_even_with_global_permissions(other_tenant):
    """Global Django permissions grant nothing on tenant data: no membership, no tenant pages."""
    user = UserFactory(username="nobody", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_product", "view_tenant"]))
    ProductFactory(tenant=other_tenant)
    client = Client()
    client.force_login(user)
    for model_name in ("product", "tenant"):
        assert client.get(reverse(f"admin:catalog_{model_name}_changelist")).status_code == 403


@pytest.mark.django_db
def test_member_of_two_tenants_sees_both_and_no_third(staff_client_of_tenant_a, staff_user, tenant, other_tenant):
    tenant_services.add_member(other_tenant, staff_user)
    own = {ProductFactory(tenant=tenant).pk, ProductFactory(tenant=other_tenant).pk}
    ProductFactory(tenant=TenantFactory(slug="tenant-c"))
    response = staff_client_of_tenant_a.get(reverse("admin:catalog_product_changelist"))
    assert {p.pk for p in response.context["cl"].result_list} == own
