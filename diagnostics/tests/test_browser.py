"""The health page and the staff dashboards in headless Chromium (Playwright's sync API).

Skipped when Chromium or Playwright is missing. Screenshots land in
``$BROWSER_SCREENSHOTS_DIR`` (default ``var/screenshots/``) for a reviewer to open.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from catalog import tenants
from catalog.models import Membership
from catalog.tests.factories import ProductFactory, UserFactory, VariantFactory
from diagnostics.models import DiagnosticsRun
from diagnostics.taxonomy import load_error_taxonomy
from diagnostics.tests.factories import DiagnosticsRunFactory, ItemIssueFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(), reason="Chromium is missing"),
]
PASSWORD = "pw-for-tests"


@pytest.fixture
def screenshots() -> Path:
    folder = Path(os.environ.get("BROWSER_SCREENSHOTS_DIR", settings.BASE_DIR / "var" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls below happen
    # before and after the browser work, never during it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


@pytest.fixture
def shop(tenant, store, catalog, settings, live_server):
    """Tenant A with failing and synced products, one Meta error type on three of them."""
    settings.META_GRAPH_URL = f"{live_server.url}/sandbox/graph"  # never leave loopback
    load_error_taxonomy()
    product = ProductFactory(tenant=tenant, store=store, title="Linen shirt")
    failing = VariantFactory.create_batch(3, product=product, catalog=catalog, meta_status="FAILED")
    VariantFactory.create_batch(
        5, product=ProductFactory(tenant=tenant, store=store), catalog=catalog, meta_status="SYNCED"
    )
    from diagnostics.models import ErrorType

    image = ErrorType.objects.get(code="IMAGE_RESOLUTION_LOW")
    for variant in failing:
        ItemIssueFactory(variant=variant, catalog=catalog, error_type=image, message="Image is 300 x 300 pixels")
    DiagnosticsRunFactory(catalog=catalog, status=DiagnosticsRun.Status.OK)
    merchant = UserFactory(username="browser-merchant", is_staff=False)
    tenants.add_member(tenant, merchant, role=Membership.Role.OWNER)
    return {"product": product, "failing": failing, "catalog": catalog}


def login(page, base: str, username: str, path: str = "/health/login/") -> None:
    page.goto(f"{base}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state()


def test_merchant_drills_down_from_a_top_error_to_the_fix(browser, live_server, shop, screenshots):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(page, live_server.url, "browser-merchant")
    page.goto(f"{live_server.url}/health/")
    assert page.inner_text("[data-testid=count-failed] .value") == "3"
    assert "37.5%" in page.inner_text("[data-testid=count-failed]")
    row = page.locator("[data-testid=top-errors] tr[data-code=IMAGE_RESOLUTION_LOW]")
    assert "Image resolution too low" in row.inner_text()
    page.screenshot(path=str(screenshots / "health.png"), full_page=True)

    row.locator("[data-testid=drill-down]").click()
    page.wait_for_load_state()
    assert page.locator("[data-testid=items] tbody tr").count() == 3
    page.screenshot(path=str(screenshots / "health-drilldown.png"), full_page=True)

    page.locator("text=Why isn't this on WhatsApp?").first.click()
    page.wait_for_load_state()
    variant = page.locator("[data-testid=variant]").first
    assert "Not on WhatsApp: image resolution too low." in variant.inner_text()
    fix = variant.locator("a.button.primary").first
    assert fix.inner_text() == "Edit in Shopify"
    assert fix.get_attribute("href").startswith(f"https://{shop['product'].store.shop_domain}/admin/products/")
    page.screenshot(path=str(screenshots / "health-product.png"), full_page=True)


def test_health_page_fits_a_phone(browser, live_server, shop, screenshots):
    page = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True).new_page()
    login(page, live_server.url, "browser-merchant")
    page.goto(f"{live_server.url}/health/")
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.is_visible("[data-testid=count-failed]")
    page.screenshot(path=str(screenshots / "health-phone.png"), full_page=True)


def test_staff_dashboard_and_catalog_diagnostics(browser, live_server, shop, screenshots, staff_user):
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    login(page, live_server.url, staff_user.username, "/admin/login/")
    page.goto(f"{live_server.url}/admin/diagnostics/cataloghealth/")
    assert page.inner_text("[data-testid=catalog-count]") == "1"
    assert "Tenant A catalog" in page.inner_text("[data-testid=catalogs]")
    page.screenshot(path=str(screenshots / "admin-dashboard.png"), full_page=True)

    page.click("[data-testid=catalogs] >> text=Tenant A catalog")
    page.wait_for_load_state()
    assert "IMAGE_RESOLUTION_LOW" in page.inner_text("[data-testid=top-errors]")
    page.screenshot(path=str(screenshots / "admin-catalog-diagnostics.png"), full_page=True)
