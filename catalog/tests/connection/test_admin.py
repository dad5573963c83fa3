"""The admin side: token banner on the index, the store's catalog-flow page, read-only report admin."""

import pytest
from django.test import Client
from django.urls import reverse

from catalog import tenants
from catalog.models import Membership, MetaConnection
from catalog.tests.factories import CatalogFactory, MetaConnectionFactory, ShopifyStoreFactory, UserFactory

from .helpers import new_report


@pytest.mark.django_db
def test_index_shows_a_token_banner_to_the_tenants_staff(staff_client, tenant):
    MetaConnectionFactory(tenant=tenant, token_status=MetaConnection.TokenStatus.REVOKED)
    body = staff_client.get(reverse("admin:index")).content.decode()
    assert "Meta token: Revoked" in body
    assert reverse("connection:whatsapp") in body


@pytest.mark.django_db
def test_index_banner_leaves_out_other_tenants(staff_client, other_tenant):
    MetaConnectionFactory(tenant=other_tenant, token_status=MetaConnection.TokenStatus.EXPIRED)
    assert "Tenant B — Meta token" not in staff_client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db
def test_no_banner_for_a_valid_token(staff_client, tenant):
    MetaConnectionFactory(tenant=tenant, token_status=MetaConnection.TokenStatus.VALID)
    assert "galantis-token-warning" not in staff_client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db
def test_store_catalog_flow_page_is_404_for_another_tenants_store(staff_client, other_tenant):
    store = ShopifyStoreFactory(tenant=other_tenant)
    url = reverse("admin:catalog_shopifystore_catalog_connection", args=[store.pk])
    assert staff_client.get(url).status_code == 404


@pytest.mark.django_db
def test_staff_see_the_flow_page_but_cannot_post(staff_client, store):
    url = reverse("admin:catalog_shopifystore_catalog_connection", args=[store.pk])
    assert "Only an owner" in staff_client.get(url).content.decode()
    assert staff_client.post(url, {"store": store.pk, "flow": "create"}).status_code == 403


@pytest.mark.django_db
def test_owner_gets_the_flow_form(tenant, store):
    user = UserFactory(username="owner-admin")
    tenants.add_member(tenant, user, role=Membership.Role.OWNER)
    MetaConnectionFactory(
        tenant=tenant,
        available_catalogs=[{"id": "77", "name": "Old", "product_count": 3, "cta": "", "commerce_settings_id": ""}],
    )
    client = Client()
    client.force_login(user)
    body = client.get(reverse("admin:catalog_shopifystore_catalog_connection", args=[store.pk])).content.decode()
    assert "Old (77, 3 items)" in body and 'value="create"' in body


@pytest.mark.django_db
def test_catalog_change_form_makes_flow_read_only(admin_client, catalog):
    body = admin_client.get(reverse("admin:catalog_catalog_change", args=[catalog.pk])).content.decode()
    assert 'name="flow"' not in body and 'name="meta_catalog_id"' not in body
    assert "Import / create / link" in body


@pytest.mark.django_db
def test_report_admin_is_scoped_and_read_only(staff_client, other_tenant, tenant, store):
    mine = new_report(CatalogFactory(tenant=tenant, store=store))
    theirs = new_report(CatalogFactory(tenant=other_tenant))
    assert staff_client.get(reverse("admin:catalog_reconciliationreport_change", args=[theirs.pk])).status_code == 404
    listing = staff_client.get(reverse("admin:catalog_reconciliationreport_changelist"))
    assert listing.status_code == 200
    assert [r.pk for r in listing.context["cl"].result_list] == [mine.pk]


@pytest.mark.django_db
def test_saving_a_token_in_the_admin_queues_a_check(admin_client, tenant, django_capture_on_commit_callbacks):
    connection = MetaConnectionFactory(tenant=tenant)
    url = reverse("admin:catalog_metaconnection_change", args=[connection.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(url, {"tenant": tenant.pk, "business_id": "123", "access_token": "EAA" + "n" * 40})
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.token_status == MetaConnection.TokenStatus.UNKNOWN
    assert len(callbacks) == 1
