"""The demo command: a connected, imported shop with live webhooks, printed pages and users that work.

Over real HTTP: the demo drives the product's own connect, import and Meta flows against
the sandbox at SITE_URL, here the test's live server.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import (
    Catalog,
    ImportRun,
    Membership,
    MetaConnection,
    Product,
    ShopifyStore,
    Tenant,
    Variant,
    WebhookEvent,
)
from sandbox import demo
from sandbox.shopify.models import WebhookSubscription

PRODUCTS = 30  # small: the command's default (300) is for people, not tests

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def served(live_server, settings, tmp_path):
    """SITE_URL (Shopify and Meta sandboxes, webhook callbacks) is the live server; no artificial delays."""
    settings.SITE_URL = live_server.url
    settings.META_GRAPH_URL = live_server.url + "/sandbox/graph"
    settings.SANDBOX_SHOPIFY_BULK_DELAY_SECONDS = 0
    settings.SHOPIFY_BULK_POLL_SECONDS = 0.02
    settings.MEDIA_ROOT = tmp_path / "media"
    return live_server


def run_demo(**kwargs) -> str:
    out = StringIO()
    call_command("demo", products=PRODUCTS, stdout=out, **kwargs)
    return out.getvalue()


def credentials(output: str) -> dict[str, str]:
    rows = [line.split() for line in output.splitlines() if " username " in line]
    return {row[row.index("username") + 1]: row[row.index("password") + 1] for row in rows}


def test_demo_connects_and_imports_a_sandbox_shop_through_the_products_services(live_server):
    run_demo()
    tenant = Tenant.objects.get(slug="demo")
    store = ShopifyStore.objects.get(tenant=tenant)
    assert store.shop_domain == demo.DEMO_SHOP_DOMAIN and store.access_token and store.connected_at
    # connect_store registered the webhooks, to this site
    callbacks = WebhookSubscription.objects.filter(shop__domain=store.shop_domain).values_list(
        "callback_url", flat=True
    )
    assert set(callbacks) == {f"{live_server.url}/shopify/webhooks/"}
    run = ImportRun.objects.get(store=store)
    assert run.state == ImportRun.State.SUCCEEDED and run.products_seen == PRODUCTS
    assert Product.objects.filter(store=store).count() == PRODUCTS
    variants = Variant.objects.filter(tenant=tenant)
    assert variants.count() > PRODUCTS
    assert not variants.filter(catalog__isnull=True).exists()
    assert not variants.filter(payload_hash="").exists()


def test_demo_fires_a_live_webhook_the_site_receives():
    run_demo()
    assert WebhookEvent.objects.filter(tenant__slug="demo").exists()


def test_demo_is_idempotent():
    run_demo()

    def counts() -> tuple[int, ...]:
        return tuple(m.objects.count() for m in (Product, Variant, Membership, ShopifyStore, ImportRun))

    before = counts()
    statuses = Variant.objects.status_counts()
    run_demo()
    after = counts()
    assert after[:4] == before[:4] and after[4] == before[4] + 1  # one more import run, nothing else
    assert Variant.objects.status_counts() == statuses
    assert MetaConnection.objects.filter(tenant__slug="demo").count() == 1
    assert Catalog.objects.filter(tenant__slug="demo").count() == 1


def test_demo_has_pending_and_failed_variants_with_reasons():
    run_demo()
    counts = Variant.objects.status_counts()
    assert counts["PENDING"] > 0 and counts["FAILED"] > 0
    failed = Variant.objects.failed()
    assert not failed.filter(last_error="").exists()


def test_output_names_every_merchant_page_and_user_and_the_users_log_in(client, live_server):
    output = run_demo()
    for path in ("/health/", "/settings/whatsapp/", "/admin/"):
        assert f"{live_server.url}{path}" in output
    assert "sandbox_shopify_change --shop demo-outfitters.myshopify.com random" in output
    creds = credentials(output)
    assert set(creds) == {"admin", "owner", "staff"}
    roles = dict(Membership.objects.filter(tenant__slug="demo").values_list("user__username", "role"))
    assert roles == {"owner": Membership.Role.OWNER, "staff": Membership.Role.STAFF}
    for username in ("admin", "owner", "staff"):
        assert client.login(username=username, password=creds[username])
        assert client.get("/health/").status_code == 200
        assert client.get("/settings/whatsapp/").status_code == 200
        response = client.get("/admin/catalog/product/")
        assert response.status_code == 200 and len(response.context["cl"].result_list) > 0
        client.logout()


def test_demo_staff_sees_only_the_demo_tenant(client):
    creds = credentials(run_demo())
    other = Tenant.objects.create(slug="other", name="Other")
    client.login(username="staff", password=creds["staff"])
    assert client.get(f"/admin/catalog/tenant/{other.pk}/change/").status_code == 404


def test_demo_refuses_to_run_in_production(settings):
    settings.SANDBOX_ENABLED = False
    with pytest.raises(CommandError, match="SANDBOX_ENABLED"):
        run_demo()


def test_demo_connects_meta_by_the_merchant_flows_so_the_whatsapp_page_is_right_at_once():
    run_demo()
    catalog = Catalog.objects.get(tenant__slug="demo")
    connection = catalog.connection
    assert catalog.sync_enabled and catalog.meta_catalog_id and connection.token_last4
    assert catalog.meta_catalog_id in {c["id"] for c in connection.available_catalogs}
    assert catalog.checks_at is not None and not catalog.checks_error
    assert catalog.pixel_id and catalog.event_sources
    broken = Variant.objects.filter(catalog=catalog, image_url__startswith=demo.INTRANET_IMAGES)
    assert broken.values("product").distinct().count() == demo.META_REJECTED_DEMO
