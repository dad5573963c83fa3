"""Secrets in the admin: write-only for owners, ••••last4 for owners and staff, nothing for viewers."""

import pytest
from django.urls import reverse

from catalog.models import MetaConnection, ShopifyStore
from catalog.tests.admin.formdata import changeform_data
from catalog.tests.factories import MetaConnectionFactory, ShopifyStoreFactory

STORE_TOKEN = "shpat_0123456789abcdef0123456789abcdef"
STORE_SECRET = "whsec-verysecretvalue-9f8e"
META_TOKEN = "EAAGm0PX4ZCpsBAabcdefghijklmnopqrstuvwxyz1234"


@pytest.fixture
def shop(tenant):
    return ShopifyStoreFactory(tenant=tenant, access_token=STORE_TOKEN, webhook_secret=STORE_SECRET)


@pytest.fixture
def connection(tenant):
    return MetaConnectionFactory(tenant=tenant, access_token=META_TOKEN, token_last4=META_TOKEN[-4:])


def store_url(store):
    return reverse("admin:catalog_shopifystore_change", args=[store.pk])


def connection_url(connection):
    return reverse("admin:catalog_metaconnection_change", args=[connection.pk])


@pytest.mark.django_db
class TestShopifyStoreSecrets:
    def test_change_page_shows_only_the_last_four(self, staff_client, shop):
        html = staff_client.get(store_url(shop)).content.decode()
        assert STORE_TOKEN not in html and STORE_SECRET not in html
        assert "••••cdef" in html and "••••9f8e" in html

    def test_changelist_shows_only_the_last_four(self, staff_client, shop):
        html = staff_client.get(reverse("admin:catalog_shopifystore_changelist")).content.decode()
        assert STORE_TOKEN not in html
        assert "••••cdef" in html

    def test_secret_inputs_are_password_fields_without_value(self, owner_client, shop):
        form = owner_client.get(store_url(shop)).context["adminform"].form
        for name in ("access_token", "webhook_secret"):
            html = str(form[name])
            assert 'type="password"' in html and "value=" not in html

    def test_blank_keeps_the_stored_secrets(self, owner_client, shop):
        page = owner_client.get(store_url(shop))
        response = owner_client.post(store_url(shop), changeform_data(page, name="Renamed"))
        assert response.status_code == 302
        shop.refresh_from_db()
        assert (shop.name, shop.access_token, shop.webhook_secret) == ("Renamed", STORE_TOKEN, STORE_SECRET)

    def test_typed_value_replaces_the_secret(self, owner_client, shop):
        page = owner_client.get(store_url(shop))
        owner_client.post(store_url(shop), changeform_data(page, access_token="shpat_new0000000000000000000000001"))
        shop.refresh_from_db()
        assert shop.access_token == "shpat_new0000000000000000000000001"
        assert shop.webhook_secret == STORE_SECRET

    def test_form_errors_do_not_echo_the_secret(self, owner_client, shop):
        page = owner_client.get(store_url(shop))
        response = owner_client.post(store_url(shop), changeform_data(page, access_token="shpat_typed", currency="usd"))
        assert response.status_code == 200  # invalid currency: the form comes back
        html = response.content.decode()
        assert "shpat_typed" not in html and STORE_TOKEN not in html

    def test_add_store_with_token(self, owner_client, tenant):
        page = owner_client.get(reverse("admin:catalog_shopifystore_add"))
        data = changeform_data(
            page, tenant=tenant.pk, shop_domain="new.myshopify.com", currency="EUR", access_token="shpat_added_1234"
        )
        assert owner_client.post(reverse("admin:catalog_shopifystore_add"), data).status_code == 302
        assert ShopifyStore.objects.get(shop_domain="new.myshopify.com").access_token == "shpat_added_1234"


@pytest.mark.django_db
class TestMetaConnectionSecrets:
    def test_change_page_shows_only_the_last_four(self, staff_client, connection):
        html = staff_client.get(connection_url(connection)).content.decode()
        assert META_TOKEN not in html
        assert "••••1234" in html

    def test_blank_keeps_the_token(self, owner_client, connection):
        page = owner_client.get(connection_url(connection))
        owner_client.post(connection_url(connection), changeform_data(page, business_id="555"))
        connection.refresh_from_db()
        assert (connection.business_id, connection.access_token) == ("555", META_TOKEN)
        assert connection.token_status == MetaConnection.TokenStatus.VALID

    def test_new_token_updates_hint_and_resets_health(self, owner_client, connection):
        page = owner_client.get(connection_url(connection))
        owner_client.post(connection_url(connection), changeform_data(page, access_token=" EAAnewtokenvalue9876 "))
        connection.refresh_from_db()
        assert connection.access_token == "EAAnewtokenvalue9876"
        assert connection.token_last4 == "9876"
        assert connection.token_status == MetaConnection.TokenStatus.UNKNOWN

    def test_search_does_not_look_into_tokens(self, staff_client, connection):
        response = staff_client.get(reverse("admin:catalog_metaconnection_changelist"), {"q": META_TOKEN[:12]})
        assert list(response.context["cl"].result_list) == []


@pytest.mark.django_db
class TestRolesAndSecrets:
    def test_staff_see_the_last_four_but_cannot_replace_a_secret(self, staff_client, shop, connection):
        for url, data in (
            (store_url(shop), {"access_token": "shpat_staff_typed_0000"}),
            (connection_url(connection), {"access_token": "EAAstafftyped00000000"}),
        ):
            page = staff_client.get(url)
            assert page.status_code == 200 and not page.context["has_change_permission"]
            assert 'name="access_token"' not in page.content.decode()
            assert staff_client.post(url, {**data, "tenant": shop.tenant_id}).status_code == 403
        shop.refresh_from_db()
        connection.refresh_from_db()
        assert (shop.access_token, connection.access_token) == (STORE_TOKEN, META_TOKEN)
        assert "••••cdef" in staff_client.get(store_url(shop)).content.decode()

    def test_viewer_pages_show_no_secret_not_even_the_last_four(self, viewer_client, shop, connection):
        for url in (
            store_url(shop),
            connection_url(connection),
            reverse("admin:catalog_shopifystore_changelist"),
            reverse("admin:catalog_metaconnection_changelist"),
        ):
            response = viewer_client.get(url)
            assert response.status_code == 200
            html = response.content.decode()
            for secret in (STORE_TOKEN, STORE_SECRET, META_TOKEN):
                assert secret not in html and secret[-4:] not in html
            assert "stored" in html

    def test_staff_cannot_add_a_store(self, staff_client, tenant):
        assert staff_client.get(reverse("admin:catalog_shopifystore_add")).status_code == 403
        response = staff_client.post(
            reverse("admin:catalog_shopifystore_add"),
            {"tenant": tenant.pk, "shop_domain": "sneaky.myshopify.com", "currency": "EUR", "access_token": "shpat_x"},
        )
        assert response.status_code == 403
        assert not ShopifyStore.objects.filter(shop_domain="sneaky.myshopify.com").exists()
