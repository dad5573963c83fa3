"""Settings → WhatsApp Connection in headless Chromium, against the Graph API sandbox.

A merchant (an owner, not Django staff) pastes a token, picks a catalog to import,
reviews the report and enables sync. Screenshots land in ``$BROWSER_SCREENSHOTS_DIR``
(default ``var/screenshots/``). Skipped when Chromium or Playwright is missing.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from catalog import tasks
from catalog.models import Catalog, ReconciliationReport

from .conftest import item_for, legacy_item, seed_catalog, variant

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(), reason="Chromium is missing"),
]


@pytest.fixture
def screenshots() -> Path:
    folder = Path(os.environ.get("BROWSER_SCREENSHOTS_DIR", settings.BASE_DIR / "var" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; ORM work happens between its calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


def test_merchant_connects_imports_reviews_and_enables_sync(browser, live_server, meta, shop, screenshots):
    owner = shop["owner"]
    owner.set_password("pw-for-tests")
    owner.save()
    store = shop["store"]
    seed_catalog(
        meta,
        meta["catalog_id"],
        [
            item_for(variant(shop, "tee", "Red"), store),
            item_for(variant(shop, "tee", "Blue"), store, price="15.00 USD"),
            legacy_item(str(shop["coat"].shopify_product_id), "Winter Coat"),
            legacy_item("OLD-GLOVES", "Gloves"),
        ],
    )
    token = meta["access_token"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen: list[str] = []

    def shot(name: str) -> None:
        seen.append(page.content())
        page.screenshot(path=str(screenshots / f"connection-{name}.png"), full_page=True)

    page.goto(f"{live_server.url}/settings/whatsapp/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_url("**/settings/whatsapp/**")
    assert "No token yet" in page.content()
    shot("1-empty")

    page.fill("#id_business_id", meta["business_id"])
    page.fill("#id_access_token", token)
    page.click("text=Check and save token")
    page.wait_for_load_state()
    assert page.locator("#token-health").inner_text().startswith("Token: Valid")
    row = page.locator(f"tr:has(code:text('{meta['catalog_id']}'))")
    assert "ONSITE_CHECKOUT" in row.inner_text() and "4" in row.inner_text()
    shot("2-token-saved")

    page.check(f"#cat-{meta['catalog_id']}")
    page.check("input[name=flow][value=import]")
    page.click("text=Continue")
    page.wait_for_load_state()
    assert "Reading" in page.content()
    shot("3-reading")

    report = ReconciliationReport.objects.get(catalog__meta_catalog_id=meta["catalog_id"])
    tasks.build_reconciliation_report(report.pk)
    page.reload()
    assert "Waiting for your review" in page.content()
    shot("4-report-ready")

    page.click("text=Review the report and enable sync")
    page.wait_for_load_state()
    content = page.content()
    assert "OLD-GLOVES" in content and "15.00" in content
    shot("5-report")
    page.click("button:text('Enable sync')")  # the confirmation box is required: nothing happens
    assert page.locator("#id_confirm").evaluate("box => box.validity.valueMissing")
    assert ReconciliationReport.objects.get(pk=report.pk).state == ReconciliationReport.State.READY
    page.check("#id_confirm")
    page.click("button:text('Enable sync')")
    page.wait_for_url("**/settings/whatsapp/**")
    tasks.apply_reconciliation_report(report.pk)
    page.reload()
    assert "Galantis is the source of truth" in page.content()
    shot("6-sync-on")
    assert Catalog.objects.get(meta_catalog_id=meta["catalog_id"]).sync_enabled

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{live_server.url}/settings/whatsapp/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    phone.screenshot(path=str(screenshots / "connection-7-phone.png"), full_page=True)
    assert width <= 400, "the page must not scroll sideways on a phone"

    assert all(token not in html for html in seen)
