"""The demo command: idempotent, printed credentials that work, statuses that mean something."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog import demo, item_state
from catalog.models import Catalog, Membership, MetaConnection, Product, ShopifyStore, Tenant, Variant

PRODUCTS = 40  # small: the command's default (300) is for people, not tests


def run_demo(**kwargs) -> str:
    out = StringIO()
    call_command("demo", products=PRODUCTS, stdout=out, **kwargs)
    return out.getvalue()


def credentials(output: str) -> dict[str, str]:
    rows = [line.split() for line in output.splitlines() if " username " in line]
    return {row[row.index("username") + 1]: row[row.index("password") + 1] for row in rows}


@pytest.mark.django_db
def test_demo_creates_tenant_store_products_and_variants():
    run_demo()
    tenant = Tenant.objects.get(slug="demo")
    store = ShopifyStore.objects.get(tenant=tenant)
    assert Product.objects.filter(store=store).count() == PRODUCTS
    variants = Variant.objects.filter(tenant=tenant)
    assert variants.count() > PRODUCTS
    assert not variants.filter(catalog__isnull=True).exists()
    assert not variants.filter(payload_hash="").exists()


@pytest.mark.django_db
def test_demo_is_idempotent():
    run_demo()
    counts = (Product.objects.count(), Variant.objects.count(), Membership.objects.count())
    statuses = Variant.objects.status_counts()
    run_demo()
    assert (Product.objects.count(), Variant.objects.count(), Membership.objects.count()) == counts
    assert Variant.objects.status_counts() == statuses


@pytest.mark.django_db
def test_demo_has_pending_and_failed_variants_with_reasons():
    run_demo()
    counts = Variant.objects.status_counts()
    assert counts["PENDING"] > 0 and counts["FAILED"] > 0
    failed = Variant.objects.failed()
    assert not failed.filter(last_error="").exists()
    assert "EMPTY_IMAGE_URL" in {
        code for codes in failed.values_list("last_error_code", flat=True) for code in codes.split(",")
    }


@pytest.mark.django_db
def test_printed_credentials_log_in(client):
    creds = credentials(run_demo())
    assert set(creds) == {"admin", "staff"}
    assert client.login(username="admin", password=creds["admin"])
    client.logout()
    assert client.login(username="staff", password=creds["staff"])
    response = client.get("/admin/catalog/product/")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) > 0


@pytest.mark.django_db
def test_demo_staff_sees_only_the_demo_tenant(client):
    creds = credentials(run_demo())
    other = Tenant.objects.create(slug="other", name="Other")
    client.login(username="staff", password=creds["staff"])
    response = client.get(f"/admin/catalog/tenant/{other.pk}/change/")
    assert response.status_code == 404


@pytest.mark.django_db
def test_demo_refuses_to_run_in_production(settings):
    settings.SANDBOX_ENABLED = False
    with pytest.raises(CommandError, match="SANDBOX_ENABLED"):
        run_demo()


@pytest.mark.django_db
def test_statuses_written_at_insert_match_a_fresh_refresh(catalog):
    demo.load_products(catalog.store, catalog, demo.generated_products(PRODUCTS, seed=7))
    assert Variant.objects.filter(catalog=catalog).exclude(payload_hash="").count() > PRODUCTS
    assert item_state.refresh_variants(Variant.objects.all()) == 0


@pytest.mark.django_db
def test_demo_connects_its_catalog_to_a_sandbox_meta_business():
    run_demo()
    run_demo()  # a re-run keeps the same business, catalog and token
    catalog = Catalog.objects.get(tenant__slug="demo")
    assert catalog.sync_enabled and catalog.meta_catalog_id and catalog.connection.token_last4
    assert MetaConnection.objects.filter(tenant__slug="demo").count() == 1
    broken = Variant.objects.filter(catalog=catalog, image_url__startswith="http://images-intranet/")
    assert broken.count() == 3
