"""The settings page and report page: who sees what, who may change what (no Meta calls here)."""

import pytest
from django.test import Client
from django.urls import reverse

from catalog import tenants
from catalog.models import Catalog, Membership, MetaConnection, ReconciliationReport
from catalog.tests.factories import (
    CatalogFactory,
    MetaConnectionFactory,
    ProductFactory,
    ShopifyStoreFactory,
    UserFactory,
    VariantFactory,
)

from .helpers import meta_row, new_report, run_matcher

URL = reverse("connection:whatsapp")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner(tenant):
    user = UserFactory(username="owner-a", is_staff=False)
    tenants.add_member(tenant, user, role=Membership.Role.OWNER)
    return _client(user)


@pytest.fixture
def connection(tenant):
    return MetaConnectionFactory(
        tenant=tenant,
        access_token="EAAsecretsecretsecretsecretWXYZ",
        token_last4="WXYZ",
        available_catalogs=[
            {
                "id": "555",
                "name": "Spring",
                "product_count": 12,
                "cta": "ONSITE_CHECKOUT",
                "commerce_settings_id": "9",
                "vertical": "commerce",
            }
        ],
    )


@pytest.mark.django_db
def test_anonymous_is_sent_to_login():
    response = Client().get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.django_db
def test_owner_sees_the_page_with_only_the_token_tail(owner, connection, store):
    response = owner.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "••••WXYZ" in body
    assert connection.access_token not in body
    assert "Spring" in body and "ONSITE_CHECKOUT" in body
    assert 'type="password"' in body


@pytest.mark.django_db
def test_staff_member_may_look_but_not_change(staff_client, connection, store):
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert "only an owner" in response.content.decode()
    assert 'name="access_token"' not in response.content.decode()


@pytest.mark.django_db
def test_staff_member_cannot_post_a_token(staff_client, connection):
    response = staff_client.post(reverse("connection:save_token"), {"access_token": "EAA" + "x" * 40})
    assert response.status_code == 403
    connection.refresh_from_db()
    assert connection.token_last4 == "WXYZ"


@pytest.mark.django_db
def test_viewer_is_refused(tenant):
    user = UserFactory(username="viewer-a")
    tenants.add_member(tenant, user, role=Membership.Role.VIEWER)
    assert _client(user).get(URL).status_code == 403


@pytest.mark.django_db
def test_owner_of_a_cannot_open_tenant_b(owner, other_tenant):
    MetaConnectionFactory(tenant=other_tenant, token_last4="BBBB")
    assert owner.get(URL, {"tenant": other_tenant.slug}).status_code == 404


@pytest.mark.django_db
def test_owner_of_a_cannot_post_to_tenant_b(owner, other_tenant):
    other = MetaConnectionFactory(tenant=other_tenant, token_last4="BBBB")
    response = owner.post(reverse("connection:save_token"), {"tenant": other_tenant.slug, "access_token": "x" * 30})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.token_last4 == "BBBB"


@pytest.mark.django_db
def test_other_tenants_catalog_actions_are_404(owner, other_tenant):
    foreign = CatalogFactory(tenant=other_tenant)
    for name in ("rerun_checks", "connect_pixel", "reread_catalog"):
        assert owner.post(reverse(f"connection:{name}", args=[foreign.pk]), {"pixel_id": "123456"}).status_code == 404


@pytest.mark.django_db
def test_other_tenants_report_is_404(owner, other_tenant):
    report = new_report(CatalogFactory(tenant=other_tenant))
    assert owner.get(reverse("connection:report", args=[report.pk])).status_code == 404


@pytest.mark.django_db
def test_malformed_token_is_refused_without_calling_meta_and_never_echoed(owner, connection):
    response = owner.post(reverse("connection:save_token"), {"access_token": "short tok"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "does not look like a Meta access token" in body
    assert "short tok" not in body
    connection.refresh_from_db()
    assert connection.token_last4 == "WXYZ"


@pytest.mark.django_db
def test_report_page_lists_categories_and_differences(owner, tenant, store):
    catalog = CatalogFactory(tenant=tenant, store=store, flow=Catalog.Flow.IMPORT, sync_enabled=False)
    variant = VariantFactory(product=ProductFactory(tenant=tenant, store=store, title="Tee"))
    report = new_report(catalog)
    meta_row(report, variant.retailer_id, name="Old tee", price="1.00 USD")
    meta_row(report, "ghost", name="Ghost item")
    run_matcher(report)
    report.state = ReconciliationReport.State.READY
    report.save()
    body = owner.get(reverse("connection:report", args=[report.pk])).content.decode()
    assert "Ghost item" in body and "Old tee" in body
    assert '1.00 USD</span> → <span class="ours">19.99 USD' in body
    assert "Enable sync" in body


@pytest.mark.django_db
def test_enabling_sync_needs_the_confirmation_box(owner, tenant, store):
    catalog = CatalogFactory(tenant=tenant, store=store, flow=Catalog.Flow.IMPORT, sync_enabled=False)
    report = new_report(catalog)
    report.state = ReconciliationReport.State.READY
    report.save()
    response = owner.post(reverse("connection:report", args=[report.pk]), {})
    assert response.status_code == 400
    report.refresh_from_db()
    assert report.state == ReconciliationReport.State.READY


@pytest.mark.django_db
def test_enabling_sync_records_the_owner_and_the_deletion_choice(
    owner, tenant, store, django_capture_on_commit_callbacks
):
    catalog = CatalogFactory(tenant=tenant, store=store, flow=Catalog.Flow.IMPORT, sync_enabled=False)
    report = new_report(catalog)
    report.state = ReconciliationReport.State.READY
    report.save()
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner.post(
            reverse("connection:report", args=[report.pk]), {"confirm": "on", "delete_unmatched": "on"}
        )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == ReconciliationReport.State.APPLYING
    assert report.delete_unmatched and report.delete_unmatched_chosen_by.username == "owner-a"
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_staff_member_cannot_enable_sync(staff_client, tenant, store):
    report = new_report(CatalogFactory(tenant=tenant, store=store, flow=Catalog.Flow.IMPORT))
    assert staff_client.post(reverse("connection:report", args=[report.pk]), {"confirm": "on"}).status_code == 403


@pytest.mark.django_db
def test_settings_page_query_count_is_flat(owner, connection, store, django_assert_max_num_queries):
    CatalogFactory(tenant=connection.tenant, store=store, connection=connection)
    with django_assert_max_num_queries(25):
        assert owner.get(URL).status_code == 200


@pytest.mark.django_db
def test_page_for_a_second_store_is_scoped(owner, tenant, other_tenant):
    foreign_store = ShopifyStoreFactory(tenant=other_tenant)
    assert owner.get(URL, {"store": foreign_store.pk}).status_code == 404


@pytest.mark.django_db
def test_expired_token_banner_shows_the_fix(owner, tenant):
    MetaConnection.objects.create(tenant=tenant, token_last4="abcd", token_status="expired")
    body = owner.get(URL).content.decode()
    assert "Token: Expired" in body and "Fix:" in body
