"""A real browser logs into the admin and sees the variant badges (needs /usr/bin/chromium)."""

from decimal import Decimal
from pathlib import Path

import pytest

from catalog import item_state
from catalog.models import Variant
from catalog.tests.factories import ProductFactory, VariantFactory

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]


@pytest.mark.django_db(transaction=True)
def test_staff_logs_in_and_sees_variant_badges(live_server, tenant, store, catalog, staff_user):
    playwright_api = pytest.importorskip("playwright.sync_api")
    product = ProductFactory(tenant=tenant, store=store, title="Browser Tee")
    VariantFactory(product=product, catalog=catalog, title="S")
    VariantFactory(product=product, catalog=catalog, title="M", price=Decimal("0"))
    item_state.refresh_variants(Variant.objects.filter(product=product))
    change_path = f"/admin/catalog/product/{product.pk}/change/"

    # No ORM calls while Playwright's event loop runs in this thread (Django forbids them).
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/admin/login/?next={change_path}")
            page.fill("#id_username", staff_user.username)
            page.fill("#id_password", "pw-for-tests")
            page.click("input[type=submit]")
            page.wait_for_url(f"**{change_path}")
            failed = page.locator(".meta-badge-failed").first.inner_text()
            pending = page.locator(".meta-badge-pending").first.inner_text()
            failed_colour = page.locator(".meta-badge-failed").first.evaluate(
                "e => getComputedStyle(e).backgroundColor"
            )
            heading = page.locator("#site-name").inner_text()
        finally:
            browser.close()

    assert failed.startswith("FAILED") and pending.startswith("PENDING")
    assert failed_colour == "rgb(198, 40, 40)"  # the stylesheet reached the browser
    assert heading == "Galantis catalog sync"


@pytest.mark.django_db(transaction=True)
def test_status_and_problem_fit_at_1366_and_merchant_pages_fit_at_390(live_server, tenant, store, catalog, staff_user):
    """The failed-variants list shows status and problem without sideways scrolling on a 1366 px
    laptop; the merchant pages and the admin index have no horizontal scrollbar on a 390 px phone."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    product = ProductFactory(tenant=tenant, store=store, title="A product with a rather long title for the list")
    for n in range(4):
        VariantFactory(product=product, catalog=catalog, title=f"Size {n}", price=Decimal("0"))
    item_state.refresh_variants(Variant.objects.filter(product=product))
    failed_list = "/admin/catalog/variant/?meta_status__exact=FAILED"

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 800})
            page.goto(f"{live_server.url}/admin/login/?next={failed_list}")
            page.fill("#id_username", staff_user.username)
            page.fill("#id_password", "pw-for-tests")
            page.click("input[type=submit]")
            page.wait_for_url(f"**{failed_list}")
            edges = {
                name: page.locator(f"#result_list thead th.column-{name}").bounding_box()
                for name in ("status", "problem")
            }
            overflow = {}
            page.set_viewport_size({"width": 390, "height": 800})
            for path in ("/health/", "/settings/whatsapp/", "/admin/"):
                page.goto(f"{live_server.url}{path}")
                overflow[path] = page.evaluate(
                    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
            nav = page.goto(f"{live_server.url}/health/") and page.locator(".merchant-top nav").inner_text()
        finally:
            browser.close()

    for name, box in edges.items():
        assert box is not None and box["x"] + box["width"] <= 1366, name
    assert overflow == {"/health/": 0, "/settings/whatsapp/": 0, "/admin/": 0}
    assert "Catalog health" in nav and "WhatsApp Connection" in nav and "Admin" in nav
