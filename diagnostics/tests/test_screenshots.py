"""Screenshots of the health page, the item view and the admin variant list at 1366 and 390 px wide.

Headless Chromium over live_server, on the realistic catalog of ``test_health_numbers``.
The PNGs land in ``$BROWSER_SCREENSHOTS_DIR`` (default ``var/screenshots/``, not in git)
for a reviewer to open; the tests fail when a page is wider than a 390 px phone, or when
what the browser shows disagrees with the database.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from catalog.models import Variant
from diagnostics.tests.test_health_numbers import shop, truth  # noqa: F401 (the realistic catalog)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(), reason="Chromium is missing"),
]
PASSWORD = "pw-for-tests"  # catalog.tests.factories.UserFactory's
WIDTHS = {"desktop": 1366, "phone": 390}


@pytest.fixture
def screenshots() -> Path:
    folder = Path(os.environ.get("BROWSER_SCREENSHOTS_DIR", settings.BASE_DIR / "var" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls happen before
    # and after the browser work, never during it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


@pytest.fixture
def site(live_server, settings, shop):  # noqa: F811
    settings.META_GRAPH_URL = f"{live_server.url}/sandbox/graph"  # the page view's Meta check stays on loopback
    return live_server.url


def page_at(browser, base: str, width: int, username: str, login_path: str):
    page = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 600).new_page()
    page.goto(f"{base}{login_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state()
    return page


WIDER_THAN_SCREEN = """(width) => Array.from(document.querySelectorAll("body *"))
  .filter((el) => el.getBoundingClientRect().right > width + 0.5)
  .slice(0, 5).map((el) => el.tagName + "." + el.className + " " + (el.textContent || "").trim().slice(0, 40))"""


def fits(page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling (the culprits are named when there is)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(WIDER_THAN_SCREEN, width)


@pytest.mark.parametrize("size", WIDTHS)
def test_health_page(browser, site, catalog, merchant, screenshots, size):
    expected = truth(catalog)
    page = page_at(browser, site, WIDTHS[size], merchant.username, "/health/login/")
    page.goto(f"{site}/health/")
    for state in ("live", "not_visible", "in_review", "failed", "pending", "excluded"):
        assert page.inner_text(f"[data-testid=count-{state}] .value") == str(expected[state]), state
    page.screenshot(path=str(screenshots / f"health-{WIDTHS[size]}.png"), full_page=True)
    if size == "phone":
        fits(page, WIDTHS[size])


@pytest.mark.parametrize("size", WIDTHS)
def test_item_view(browser, site, shop, merchant, screenshots, size):  # noqa: F811
    page = page_at(browser, site, WIDTHS[size], merchant.username, "/health/login/")
    page.goto(f"{site}/health/products/{shop['bag'][0].product_id}/")
    rejected = page.locator(f"[data-variant='{shop['bag'][0].pk}']")
    assert "Rejected in Meta's review" in rejected.inner_text()
    assert "COUNTERFEIT" in rejected.locator("[data-testid=why-not-visible]").inner_text()
    page.screenshot(path=str(screenshots / f"item-view-{WIDTHS[size]}.png"), full_page=True)
    page.goto(f"{site}/health/products/{shop['mug'][0].product_id}/")
    assert "Galantis found" in page.inner_text("main") or "Price is zero" in page.inner_text("main")
    page.screenshot(path=str(screenshots / f"item-view-failed-{WIDTHS[size]}.png"), full_page=True)
    if size == "phone":
        fits(page, WIDTHS[size])


@pytest.mark.parametrize("size", WIDTHS)
def test_admin_variant_list(browser, site, catalog, staff_user, screenshots, size):
    page = page_at(browser, site, WIDTHS[size], staff_user.username, "/admin/login/")
    page.goto(f"{site}/admin/catalog/variant/")
    shown = Variant.objects.filter(tenant=catalog.tenant).count()
    assert page.locator("#result_list tbody tr").count() == min(shown, 100)
    assert page.locator(".meta-badge-rejected").count() == truth(catalog)["rejected"]
    page.screenshot(path=str(screenshots / f"admin-variants-{WIDTHS[size]}.png"), full_page=True)
    page.goto(f"{site}/admin/catalog/variant/?verdict=not_visible")
    assert page.locator("#result_list tbody tr").count() == truth(catalog)["not_visible"]
    if size == "phone":
        fits(page, WIDTHS[size])
