"""Every page the demo's users can reach, in a real browser at 1366 and 390 px (needs /usr/bin/chromium).

Each demo user (superuser, tenant owner, tenant staff) logs in and walks the admin from its
index: every link in its sections, one change page per change list that has a row, then the
merchant pages found from the top bar (health, its item list and a product page, WhatsApp
Connection and a report when there is one). At 1366 px each change list's status column (its
first data column) lies inside the viewport and inside any scrolling box around the table;
at both widths no page has a horizontal scrollbar. Failures name the user, the width, the URL
and the measured pixels, all of them at once.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sandbox import demo

CHROMIUM = Path("/usr/bin/chromium")
PRODUCTS = 12  # enough for every list to have rows; the demo's own default is for people
WIDE, NARROW = 1366, 390
MERCHANT_PREFIXES = ("/health/", "/settings/whatsapp/")
MERCHANT_SKIP = re.compile(r"\.csv$|/log(in|out)/|/check/$")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"),
    pytest.mark.django_db(transaction=True),
]

# The page's widths and, when it overflows, the outermost elements sticking out (whose parent fits).
OVERFLOW_JS = """() => {
  const cw = document.documentElement.clientWidth;
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const culprits = [];
  if (document.documentElement.scrollWidth > cw + 1) {
    for (const e of document.body.querySelectorAll('*')) {
      if (culprits.length === 3) break;
      const r = e.getBoundingClientRect(), p = e.parentElement.getBoundingClientRect();
      const spill = getComputedStyle(e).overflowX === 'visible' ? e.scrollWidth - e.clientWidth : 0;
      if (r.right > cw + 1 && p.right <= cw + 1) culprits.push(`${name(e)} (${Math.round(r.width)} px wide)`);
      else if (spill > 1 && r.right + spill > cw + 1 && e.children.length === 0)
        culprits.push(`${name(e)} (content ${Math.round(r.width + spill)} px wide)`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, clientWidth: cw, culprits};
}"""

# The change list's first data column, and what of the page shows it: the viewport, narrowed by
# every ancestor that clips or scrolls sideways (a table may scroll inside its own box).
STATUS_COLUMN_JS = """() => {
  const table = document.querySelector('#result_list');
  if (!table) return null;
  const th = [...table.querySelectorAll('thead th')].find(c => !c.classList.contains('action-checkbox-column'));
  if (!th) return null;
  const box = th.getBoundingClientRect();
  let left = 0, right = document.documentElement.clientWidth;
  for (let el = th.parentElement; el && el !== document.documentElement; el = el.parentElement) {
    if (getComputedStyle(el).overflowX !== 'visible') {
      const b = el.getBoundingClientRect();
      left = Math.max(left, b.left);
      right = Math.min(right, b.right);
    }
  }
  return {column: th.className || th.innerText.trim(), left: box.left, right: box.right,
          visibleLeft: left, visibleRight: right};
}"""

# Status badges whose text falls below WCAG AA contrast (4.5:1) against their own, or the first
# opaque ancestor's, background.
BADGE_CONTRAST_JS = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const bad = [];
  for (const e of document.querySelectorAll('.badge, .meta-badge, .dg-badge')) {
    if (!e.getClientRects().length || !e.innerText.trim()) continue;
    let el = e, bg = null;
    while (el) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0) { bg = c; break; }
      el = el.parentElement;
    }
    bg = bg || [255, 255, 255];
    const [l1, l2] = [lum(rgb(getComputedStyle(e).color)), lum(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    if (ratio < 4.5) bad.push(`${e.className} ${ratio.toFixed(2)}:1`);
  }
  return [...new Set(bad)];
}"""

# Merchant pages: form controls without a label, images without alt text.
UNLABELLED_JS = """() => {
  const out = [];
  for (const c of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button', 'reset', 'image'].includes(c.type)) continue;
    const named = c.getAttribute('aria-label') || c.getAttribute('aria-labelledby') || c.title;
    if (!(c.labels && c.labels.length) && !named)
      out.push(`${c.tagName.toLowerCase()}[name=${c.name}]`);
  }
  for (const i of document.querySelectorAll('img:not([alt])')) out.push(`img ${i.getAttribute('src')} without alt`);
  return out;
}"""

# The element Tab reached, and whether it shows a focus ring.
FOCUS_JS = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  return {what: e.tagName.toLowerCase() + ' ' + (e.innerText || e.name || '').trim().slice(0, 30),
          visible: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'};
}"""

LINKS_JS = """(selector) => [...document.querySelectorAll(selector)]
  .map(a => a.getAttribute('href')).filter(h => h && h.startsWith('/'))"""


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module. Django refuses ORM calls while Playwright's loop runs in this
    thread; the test's own ORM work (the demo, the database flush) runs beside it on purpose."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with playwright_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            try:
                yield chromium
            finally:
                chromium.close()


def served_demo(live_server, settings, tmp_path) -> dict[str, str]:
    """Run the demo against this test's live server, as ``make demo`` does against its own."""
    settings.SITE_URL = live_server.url
    settings.META_GRAPH_URL = live_server.url + "/sandbox/graph"
    settings.SANDBOX_SHOPIFY_BULK_DELAY_SECONDS = 0
    settings.SHOPIFY_BULK_POLL_SECONDS = 0.02
    settings.MEDIA_ROOT = tmp_path / "media"
    assert os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE") == "true"
    result = demo.run_demo(products=PRODUCTS)
    return {user.username: user.password for user in result.users}


class Walk:
    """One logged-in browser page, visiting paths at a width and recording what does not fit."""

    def __init__(self, page, base: str, username: str):
        self.page, self.base, self.username = page, base, username
        self.failures: list[str] = []
        self.visited = 0

    def visit(self, path: str, width: int) -> None:
        self.page.set_viewport_size({"width": width, "height": 800})
        response = self.page.goto(self.base + path)
        self.visited += 1
        status = response.status if response is not None else None
        if status != 200:
            self.failures.append(f"{self.username} @{width}px {path}: HTTP {status}")
            return
        sizes = self.page.evaluate(OVERFLOW_JS)
        if sizes["scrollWidth"] > sizes["clientWidth"] + 1:
            self.failures.append(
                f"{self.username} @{width}px {path}: horizontal scrollbar, "
                f"scrollWidth {sizes['scrollWidth']} > clientWidth {sizes['clientWidth']}; sticking out: "
                + (", ".join(sizes["culprits"]) or "?")
            )

        for badge in self.page.evaluate(BADGE_CONTRAST_JS):
            self.failures.append(f"{self.username} @{width}px {path}: badge contrast below 4.5:1: {badge}")

    def check_accessibility(self, path: str) -> None:
        """Labels and alt text on the page; a visible focus ring on the first three Tab stops."""
        for problem in self.page.evaluate(UNLABELLED_JS):
            self.failures.append(f"{self.username} {path}: {problem} (no label)")
        for _ in range(3):
            self.page.keyboard.press("Tab")
            focus = self.page.evaluate(FOCUS_JS)
            if not focus["visible"]:
                self.failures.append(f"{self.username} {path}: no visible focus on {focus['what']!r}")

    def check_status_column(self, path: str) -> None:
        column = self.page.evaluate(STATUS_COLUMN_JS)
        if column is None:
            return
        if column["left"] < column["visibleLeft"] - 1 or column["right"] > column["visibleRight"] + 1:
            self.failures.append(
                f"{self.username} @{WIDE}px {path}: status column {column['column']!r} spans "
                f"{column['left']:.0f}–{column['right']:.0f} px, visible {column['visibleLeft']:.0f}–"
                f"{column['visibleRight']:.0f} px"
            )

    def links(self, selector: str) -> list[str]:
        return list(dict.fromkeys(self.page.evaluate(LINKS_JS, selector)))


def admin_pages(walk: Walk) -> list[str]:
    """The index's section links (change lists and custom pages), each list's first change page."""
    walk.visit("/admin/", WIDE)
    sections = [h for h in walk.links("#content-main .module th[scope=row] a") if h.startswith("/admin/")]
    assert sections, f"{walk.username}: the admin index links to no section"
    pages = ["/admin/"]
    for path in sections:
        walk.visit(path, WIDE)
        walk.check_status_column(path)
        pages.append(path)
        changelist = path.split("?")[0]
        change = [h for h in walk.links("#result_list tbody a") if h.startswith(changelist) and h.endswith("/change/")]
        if change:
            pages.append(change[0])
    return pages


def merchant_pages(walk: Walk) -> list[str]:
    """The merchant pages reachable from the top bar and their own links, one page per URL shape."""
    todo, seen, pages = ["/health/", "/health/items/", "/settings/whatsapp/"], set(), []
    while todo:
        path = todo.pop(0)
        shape = re.sub(r"\d+", "N", path.split("?")[0])
        if shape in seen:
            continue
        seen.add(shape)
        walk.visit(path, WIDE)
        walk.check_accessibility(path)
        pages.append(path)
        todo += [
            h
            for h in walk.links("main a[href]")
            if h.startswith(MERCHANT_PREFIXES) and not MERCHANT_SKIP.search(h.split("?")[0])
        ]
    return pages


@pytest.mark.parametrize("username", [demo.SUPERUSER_NAME, demo.OWNER_NAME, demo.STAFF_NAME])
def test_every_page_fits_at_1366_and_390_px(username, browser, live_server, settings, tmp_path):
    passwords = served_demo(live_server, settings, tmp_path)
    context = browser.new_context(viewport={"width": WIDE, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", username)
        page.fill("#id_password", passwords[username])
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")
        walk = Walk(page, live_server.url, username)
        pages = admin_pages(walk) + merchant_pages(walk)
        for path in pages:
            walk.visit(path, NARROW)
    finally:
        context.close()
    merchant = [p for p in pages if p.startswith(MERCHANT_PREFIXES)]
    assert any(p.startswith("/health/products/") for p in merchant), merchant
    assert not walk.failures, f"{len(walk.failures)} problems in {walk.visited} page views:\n" + "\n".join(
        walk.failures
    )
