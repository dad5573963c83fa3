"""Bad input to connect_shopify and shopify_import: one-line CommandErrors, nothing stored."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import ShopifyStore
from catalog.shopify.errors import ShopifyAuthError

pytestmark = pytest.mark.django_db


def _connect(tmp_path, **overrides):
    token, secret = tmp_path / "token", tmp_path / "secret"
    token.write_text("shpat_x\n")
    secret.write_text("s3cret\n")
    options = {
        "tenant": "tenant-a",
        "shop": "demo.myshopify.com",
        "token_file": str(token),
        "webhook_secret_file": str(secret),
        **overrides,
    }
    call_command("connect_shopify", stdout=StringIO(), **options)


def test_unknown_tenant(tenant, tmp_path):
    with pytest.raises(CommandError, match="Unknown tenant"):
        _connect(tmp_path, tenant="nobody")


def test_unreadable_token_file(tenant, tmp_path):
    with pytest.raises(CommandError, match="Cannot read the access token file"):
        _connect(tmp_path, token_file=str(tmp_path / "missing"))


def test_empty_secret_file(tenant, tmp_path):
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(CommandError, match="webhook secret is empty"):
        _connect(tmp_path, webhook_secret_file=str(tmp_path / "empty"))


def test_not_a_shop_domain(tenant, tmp_path):
    with pytest.raises(CommandError, match="not a shop domain"):
        _connect(tmp_path, shop="not a domain/")
    assert not ShopifyStore.objects.exists()


class _FakeShopClient:
    """Answers ``shop {}`` like Shopify would for a good or a rejected token."""

    def __init__(self, token_ok: bool):
        self.token_ok = token_ok

    def shop(self) -> dict:
        if not self.token_ok:
            raise ShopifyAuthError("Shopify rejected the access token (401).")
        return {"name": "Demo", "currencyCode": "USD", "primaryDomain": {"url": "https://demo.example"}}


def test_a_shop_of_another_tenant_is_refused_only_after_the_token_is_checked(tenant, other_tenant):
    """Who owns a shop in Galantis is told only to a caller whose token reaches the shop."""
    from catalog.shopify.connect import ConnectError, connect_store
    from catalog.tests.factories import ShopifyStoreFactory

    theirs = ShopifyStoreFactory(tenant=other_tenant, shop_domain="demo.myshopify.com")
    with pytest.raises(ConnectError) as bad_token:
        connect_store(tenant, "demo.myshopify.com", "shpat_guess", "secret", client=_FakeShopClient(False))
    assert "401" in str(bad_token.value) and "another" not in str(bad_token.value)
    with pytest.raises(ConnectError, match="another Galantis account"):
        connect_store(tenant, "demo.myshopify.com", "shpat_real", "secret", client=_FakeShopClient(True))
    theirs.refresh_from_db()
    assert theirs.tenant == other_tenant and theirs.access_token != "shpat_real"


def test_import_without_a_store(tenant):
    with pytest.raises(CommandError, match="no connected Shopify store"):
        call_command("shopify_import", tenant="tenant-a", stdout=StringIO())


def test_import_of_an_uninstalled_store(store):
    from django.utils import timezone

    ShopifyStore.objects.filter(pk=store.pk).update(uninstalled_at=timezone.now())
    with pytest.raises(CommandError, match="uninstalled"):
        call_command("shopify_import", tenant=store.tenant.slug, stdout=StringIO())
