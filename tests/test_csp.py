"""Content-Security-Policy: on every page, and the pages keep to it (no inline script or style).

The HTML checks run everywhere; the browser check (``-m browser``) loads the pages in
headless Chromium and fails on any CSP violation it reports.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from catalog import tenants
from catalog.models import Membership
from catalog.tests.factories import (
    CatalogFactory,
    ProductFactory,
    ShopifyStoreFactory,
    UserFactory,
    VariantFactory,
)

PASSWORD = "pw-for-csp-tests"
# A <script> with a body, a <style> element, an on* handler attribute, a javascript: URL.
INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>\s*\S"
    r"|<style[\s>]"
    r"|\son[a-z]+\s*=\s*[\"']"
    r"|javascript:",
    re.IGNORECASE,
)


@pytest.fixture
def pages(tenant, store, catalog):
    """Tenant A with two catalogs (the health page then shows its catalog switcher), an owner and a superuser."""
    second_store = ShopifyStoreFactory(tenant=tenant, shop_domain="second.myshopify.com")
    CatalogFactory(tenant=tenant, store=second_store, connection=catalog.connection, name="Second catalog")
    product = ProductFactory(tenant=tenant, store=store, title="Linen shirt")
    VariantFactory.create_batch(2, product=product, catalog=catalog, meta_status="FAILED")
    owner = UserFactory(username="csp-owner", is_staff=False)
    owner.set_password(PASSWORD)
    owner.save()
    tenants.add_member(tenant, owner, role=Membership.Role.OWNER)
    admin = UserFactory(username="csp-admin", is_staff=True, is_superuser=True)
    admin.set_password(PASSWORD)
    admin.save()
    return {"owner": owner, "admin": admin, "product": product, "catalog": catalog}


def merchant_urls(pages) -> list[str]:
    return ["/health/", "/health/items/", f"/health/products/{pages['product'].pk}/", "/settings/whatsapp/"]


def admin_urls(pages) -> list[str]:
    return [
        "/admin/",
        reverse("admin:catalog_variant_changelist"),
        reverse("admin:catalog_product_change", args=[pages["product"].pk]),
        reverse("admin:catalog_catalog_change", args=[pages["catalog"].pk]),
        "/admin/diagnostics/cataloghealth/",
    ]


@pytest.mark.django_db
def test_every_response_carries_the_policy(client):
    response = client.get("/admin/login/")
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and "unsafe" not in directives["script-src"]
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


@pytest.mark.django_db
def test_merchant_and_admin_pages_have_no_inline_code(pages):
    merchant, admin = Client(), Client()
    merchant.force_login(pages["owner"])
    admin.force_login(pages["admin"])
    for client, urls in ((merchant, merchant_urls(pages)), (admin, admin_urls(pages))):
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert "Content-Security-Policy" in response, url
            html = response.content.decode()
            found = INLINE_CODE.search(html)
            assert found is None, f"{url}: inline code the policy blocks: {html[found.start() : found.start() + 80]!r}"


# -- in a browser ------------------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(), reason="Chromium is missing")
def test_no_csp_violation_in_the_browser(pages, live_server, monkeypatch, settings):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    settings.META_GRAPH_URL = f"{live_server.url}/sandbox/graph"  # never leave loopback
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    violations: list[str] = []
    visited: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for who, login_path, urls in (
                ("csp-owner", "/health/login/", merchant_urls(pages)),
                ("csp-admin", "/admin/login/", admin_urls(pages)),
            ):
                page = browser.new_context().new_page()
                page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
                page.goto(f"{live_server.url}{login_path}")
                page.fill("#id_username", who)
                page.fill("#id_password", PASSWORD)
                page.click("button[type=submit], input[type=submit]")
                page.wait_for_load_state()
                for url in urls:
                    page.goto(f"{live_server.url}{url}")
                    page.wait_for_load_state("networkidle")
                    visited.append(page.url)
                if who == "csp-owner":
                    # The catalog switcher needs no script (it had an inline onchange handler).
                    page.goto(f"{live_server.url}/health/")
                    page.select_option("select[name=catalog]", str(pages["catalog"].pk))
                    with page.expect_navigation():
                        page.click("form.filters button[type=submit]")
                    assert f"catalog={pages['catalog'].pk}" in page.url
        finally:
            browser.close()
    assert not [url for url in visited if "/login/" in url], visited  # every page really opened
    assert violations == []
