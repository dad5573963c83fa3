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
