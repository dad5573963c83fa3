"""Secrets in the admin: shown as ••••last4 only, write-only, blank keeps the stored value."""

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

    def test_secret_inputs_are_password_fields_without_value(self, staff_client, shop):
        form = staff_client.get(store_url(shop)).context["adminform"].form
        for name in ("access_token", "webhook_secret"):
            html = str(form[name])
            assert 'type="password"' in html and "value=" not in html

    def test_blank_keeps_the_stored_secrets(self, staff_client, shop):
        page = staff_client.get(store_url(shop))
        response = staff_client.post(store_url(shop), changeform_data(page, name="Renamed"))
        assert response.status_code == 302
        shop.refresh_from_db()
        assert (shop.name, shop.access_token, shop.webhook_secret) == ("Renamed", STORE_TOKEN, STORE_SECRET)

    def test_typed_value_replaces_the_secret(self, staff_client, shop):
        page = staff_client.get(store_url(shop))
        staff_client.post(store_url(shop), changeform_data(page, access_token="shpat_new0000000000000000000000001"))
        shop.refresh_from_db()
        assert shop.access_token == "shpat_new0000000000000000000000001"
        assert shop.webhook_secret == STORE_SECRET

    def test_form_errors_do_not_echo_the_secret(self, staff_client, shop):
        page = staff_client.get(store_url(shop))
        response = staff_client.post(store_url(shop), changeform_data(page, access_token="shpat_typed", currency="usd"))
        assert response.status_code == 200  # invalid currency: the form comes back
        html = response.content.decode()
        assert "shpat_typed" not in html and STORE_TOKEN not in html

    def test_add_store_with_token(self, staff_client, tenant):
        page = staff_client.get(reverse("admin:catalog_shopifystore_add"))
        data = changeform_data(
            page, tenant=tenant.pk, shop_domain="new.myshopify.com", currency="EUR", access_token="shpat_added_1234"
        )
        assert staff_client.post(reverse("admin:catalog_shopifystore_add"), data).status_code == 302
        assert ShopifyStore.objects.get(shop_domain="new.myshopify.com").access_token == "shpat_added_1234"


@pytest.mark.django_db
class TestMetaConnectionSecrets:
    def test_change_page_shows_only_the_last_four(self, staff_client, connection):
        html = staff_client.get(connection_url(connection)).content.decode()
        assert META_TOKEN not in html
        assert "••••1234" in html

    def test_blank_keeps_the_token(self, staff_client, connection):
        page = staff_client.get(connection_url(connection))
        staff_client.post(connection_url(connection), changeform_data(page, business_id="555"))
        connection.refresh_from_db()
        assert (connection.business_id, connection.access_token) == ("555", META_TOKEN)
        assert connection.token_status == MetaConnection.TokenStatus.VALID

    def test_new_token_updates_hint_and_resets_health(self, staff_client, connection):
        page = staff_client.get(connection_url(connection))
        staff_client.post(connection_url(connection), changeform_data(page, access_token=" EAAnewtokenvalue9876 "))
        connection.refresh_from_db()
        assert connection.access_token == "EAAnewtokenvalue9876"
        assert connection.token_last4 == "9876"
        assert connection.token_status == MetaConnection.TokenStatus.UNKNOWN

    def test_search_does_not_look_into_tokens(self, staff_client, connection):
        response = staff_client.get(reverse("admin:catalog_metaconnection_changelist"), {"q": META_TOKEN[:12]})
        assert list(response.context["cl"].result_list) == []
