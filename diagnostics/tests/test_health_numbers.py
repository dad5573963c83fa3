"""One source of numbers: every number on the health page is a COUNT of the database, and they agree.

A catalog with a realistic mix (pending, live, rejected in review, image not fetched,
in review, failed locally with a fix, failed by Meta, an archived product, products of
several variants, a store without a catalog) is brought to its state through the code
that does it in production (``item_state``'s refresh, rejection, acceptance and verdict
writers; the harvest), then the page is rendered for a shop owner and every card, chart
legend, drill-down and CSV count is compared with a COUNT per state in the database.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from catalog import item_state
from catalog.graph_clients import client_for
from catalog.models import Product, SyncBatch, Variant
from catalog.tests.factories import ProductFactory, ShopifyStoreFactory, VariantFactory
from diagnostics import listing
from diagnostics.harvest import harvest_sync_results
from diagnostics.models import CatalogIssue, ItemIssue, Priority
from diagnostics.snapshots import take_all_snapshots
from diagnostics.taxonomy import ErrorTypeCache, load_error_taxonomy
from diagnostics.tests.factories import CatalogIssueFactory, DiagnosticsRunFactory, ItemIssueFactory
from diagnostics.tests.test_polling import meta  # noqa: F401 (the sandbox over live_server)

pytestmark = pytest.mark.django_db
URL = reverse("health:index")
Verdict = item_state.ItemVerdict


# --- the catalog ------------------------------------------------------------------------------


def _product(store, catalog, title: str, variants: int, **product_fields) -> list[Variant]:
    product = ProductFactory(
        tenant=store.tenant,
        store=store,
        title=title,
        description_html=f"<p>{title}: made to last, for every day.</p>",
        **product_fields,
    )
    return [VariantFactory(product=product, catalog=catalog, title=f"Size {n}") for n in range(1, variants + 1)]


@pytest.fixture
def shop(tenant, store, catalog):
    """Tenant A's catalog with one of everything, brought there the way production brings it."""
    load_error_taxonomy()
    shirt = _product(store, catalog, "Linen shirt", 3)  # two live, one edited after the sync: pending
    bag = _product(store, catalog, "Leather bag", 2)  # one rejected in Meta's review, one live
    tote = _product(store, catalog, "Canvas tote", 1)  # Meta cannot fetch its image
    cap = _product(store, catalog, "Cotton cap", 2)  # accepted, Meta's review not read yet
    mug = _product(store, catalog, "Stoneware mug", 2)  # price zero: failed here, never sent
    lamp = _product(store, catalog, "Desk lamp", 1)  # refused by Meta in the batch
    coat = _product(store, catalog, "Old coat", 3)  # archived after it was live
    for variant in mug:
        Variant.objects.filter(pk=variant.pk).update(price=Decimal("0.00"))
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))

    # One push: everything pending goes in one batch; Meta refuses the lamp, accepts the rest.
    batch = SyncBatch.objects.create(
        tenant=catalog.tenant,
        catalog=catalog,
        kind=SyncBatch.Kind.ITEMS_BATCH,
        state=SyncBatch.State.SENT,
        item_count=12,
    )
    Variant.objects.filter(catalog=catalog, meta_status="PENDING").update(
        in_flight_batch=batch, in_flight_hash=F("payload_hash")
    )
    item_state.apply_rejections(
        batch, {lamp[0].retailer_id: "Invalid value for availability: instock"}, Variant.FailureSource.META_BATCH
    )
    item_state.apply_accepted(batch)
    SyncBatch.objects.filter(pk=batch.pk).update(state=SyncBatch.State.FINISHED, finished_at=timezone.now())

    # Meta's review, as the verdict poll reads it.
    whatsapp = (("whatsapp", "APPROVED"),)
    item_state.record_verdicts(
        catalog.pk,
        [
            *(Verdict(v.retailer_id, "approved", channel_review=whatsapp) for v in [*shirt, bag[1], *coat]),
            Verdict(bag[0].retailer_id, "rejected", rejection_reasons=("COUNTERFEIT",)),
            Verdict(tote[0].retailer_id, "approved", image_fetch_status="FETCH_FAILED", channel_review=whatsapp),
        ],
    )
    # Meta's diagnostics poll reported problems on some items (two sources on the tote).
    types = ErrorTypeCache(preload=True)
    poll = ItemIssue.Source.DIAGNOSTICS_POLL
    ItemIssueFactory(variant=bag[0], catalog=catalog, error_type=types.get("PRODUCT_NOT_APPROVED"), source=poll)
    ItemIssueFactory(variant=tote[0], catalog=catalog, error_type=types.get("IMAGE_FETCH_FAILED"), source=poll)
    ItemIssueFactory(
        variant=tote[0],
        catalog=catalog,
        error_type=types.get("IMAGE_FETCH_FAILED"),
        source=ItemIssue.Source.FEED,
        reference="feed upload 1 row 3",
    )
    ItemIssueFactory(
        variant=shirt[0],
        catalog=catalog,
        error_type=types.get("PROPERTY_VALUE_MISSING_WARNING"),
        source=poll,
        priority=Priority.LOW,
    )
    ItemIssueFactory(variant=coat[0], catalog=catalog, error_type=types.get("IMAGE_FETCH_FAILED"), source=poll)
    # Catalog-level: Meta's image group counts four items (its count includes the hidden coat); and a
    # finding about the catalog itself.
    CatalogIssueFactory(
        catalog=catalog,
        error_type=types.get("DIAGNOSTICS_IMAGE_QUALITY"),
        source=poll,
        key="2607",
        priority=Priority.HIGH,
        title="Fix image issues",
        affected_items=4,
        details={"affected_entity": "product_item", "types": {"IMAGE_FETCH_FAILED": 4}},
    )
    CatalogIssueFactory(
        catalog=catalog,
        error_type=types.get("DIAGNOSTICS_EVENT_SOURCE_ISSUES"),
        source=poll,
        key="2606",
        priority=Priority.LOW,
        title="Connect an event source",
        message="Your catalog isn't connected to a pixel",
        details={"affected_entity": "product_catalog", "types": {}},
    )

    # Later: the coat is archived in Shopify, a shirt variant is repriced (both through refresh).
    Product.objects.filter(pk=coat[0].product_id).update(status=Product.Status.ARCHIVED)
    Variant.objects.filter(pk=shirt[2].pk).update(price=Decimal("25.00"))
    item_state.refresh_variants(Variant.objects.filter(pk__in=[shirt[2].pk, *(v.pk for v in coat)]))

    # An hourly snapshot two hours ago, then the harvest after the sync (issues, and a snapshot).
    take_all_snapshots(timezone.now() - timedelta(hours=2))
    harvest_sync_results(catalog)
    DiagnosticsRunFactory(catalog=catalog)
    # A second store with no catalog: its variants are not the catalog's, and the page says so.
    other_store = ShopifyStoreFactory(tenant=tenant, shop_domain="outlet.myshopify.com", name="Outlet")
    for _ in range(2):
        VariantFactory(product=ProductFactory(tenant=tenant, store=other_store), catalog=None)
    return {"shirt": shirt, "bag": bag, "tote": tote, "cap": cap, "mug": mug, "lamp": lamp, "coat": coat}


def truth(catalog) -> dict[str, int]:
    """A COUNT per state, written out against the columns (not through the code under test)."""
    variants = Variant.objects.filter(catalog=catalog)
    live = variants.filter(excluded=False)
    synced = live.filter(meta_status="SYNCED")
    return {
        "live": synced.filter(verdict="LIVE").count(),
        "rejected": synced.filter(verdict="REJECTED").count(),
        "hidden": synced.filter(verdict="NOT_VISIBLE").count(),
        "not_visible": synced.filter(verdict__in=["REJECTED", "NOT_VISIBLE"]).count(),
        "in_review": synced.exclude(verdict__in=["LIVE", "REJECTED", "NOT_VISIBLE"]).count(),
        "failed": live.filter(meta_status="FAILED").count(),
        "pending": live.filter(meta_status="PENDING").count(),
        "excluded": variants.filter(excluded=True).count(),
        "total": variants.count(),
    }


def open_problem_variants(catalog, **filters) -> int:
    return (
        ItemIssue.objects.filter(catalog=catalog, resolved_at__isnull=True, variant__excluded=False, **filters)
        .values("variant_id")
        .distinct()
        .count()
    )


# --- reading the page --------------------------------------------------------------------------


def attr_counts(body: str, attribute: str) -> dict[str, int]:
    """``{name: count}`` from elements carrying ``<attribute>="name" data-count="n"``."""
    return {name: int(n) for name, n in re.findall(rf'{attribute}="([\w-]+)" data-count="(\d+)"', body)}


def chart_legend(body: str, chart: str) -> dict[str, int]:
    figure = re.search(rf'<figure class="chart-figure" data-chart="{chart}">(.*?)</figure>', body, re.S).group(1)
    return attr_counts(figure, "data-series")


def walk(client, url: str) -> list[int]:
    """Every variant id a drill-down lists, following its pages."""
    seen: list[int] = []
    while url:
        body = client.get(url).content.decode()
        seen += [int(pk) for pk in re.findall(r'<tr data-variant="(\d+)"', body)]
        more = re.search(r'data-testid="next-page" href="([^"]+)"', body)
        url = reverse("health:items") + html.unescape(more.group(1)) if more else ""
    return seen


def card_links(body: str) -> dict[str, str]:
    links = dict(
        (state, html.unescape(href))
        for href, state in re.findall(r'<a class="value" href="([^"]+)" data-testid="drill-(\w+)"', body)
    )
    for state, href in re.findall(r'<li data-testid="count-(\w+)" data-count="\d+"><a href="([^"]+)"', body):
        links[state] = html.unescape(href)
    return links


# --- the tests -----------------------------------------------------------------------------------


def test_the_mix_is_what_it_says(shop, catalog):
    """The fixture went through production's writers to the states it names."""
    assert truth(catalog) == {
        "live": 3,
        "rejected": 1,
        "hidden": 1,
        "not_visible": 2,
        "in_review": 2,
        "failed": 3,
        "pending": 1,
        "excluded": 3,
        "total": 14,
    }
    lamp = Variant.objects.get(pk=shop["lamp"][0].pk)
    assert (lamp.failure_source, lamp.last_error) == ("META_BATCH", "Invalid value for availability: instock")
    mug = Variant.objects.get(pk=shop["mug"][0].pk)
    assert mug.failure_source == "LOCAL" and "price above zero" in mug.last_error_fix


def test_every_card_chart_and_drill_down_matches_the_database(shop, catalog, merchant_client, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)  # drill-downs over several pages
    expected = truth(catalog)
    body = merchant_client.get(URL).content.decode()

    cards = attr_counts(body, "data-testid")
    for state in ("live", "not_visible", "rejected", "hidden", "in_review", "failed", "pending", "excluded"):
        assert cards[f"count-{state}"] == expected[state], state
    assert cards["count-total"] == expected["total"]

    # The chart ends where the cards stand (its legend is the latest point).
    legend = chart_legend(body, "states")
    assert legend == {s: expected[s] for s in ("live", "not_visible", "in_review", "failed", "pending", "excluded")}

    # Each card opens the list of exactly its variants.
    links = card_links(body)
    assert set(links) == {"live", "not_visible", "rejected", "hidden", "in_review", "failed", "pending", "excluded"}
    for state, url in links.items():
        listed = walk(merchant_client, url)
        assert len(listed) == len(set(listed)) == expected[state], state

    # Variants with open problems, per priority: the card, the chart's latest point, the drill-down.
    priorities = {p: open_problem_variants(catalog, priority=p) for p in Priority.values}
    assert priorities == {"HIGH": 5, "MEDIUM": 0, "LOW": 1}  # mug ×2, lamp, bag, tote; the shirt's suggestion
    assert {p: cards[f"priority-{p}"] for p in Priority.values} == priorities
    assert chart_legend(body, "problems") == {p.lower(): n for p, n in priorities.items()}
    for priority, href in re.findall(r'data-testid="priority-(\w+)" data-count="\d+"><a href="([^"]+)"', body):
        assert len(walk(merchant_client, html.unescape(href))) == priorities[priority], priority

    # Each problem row: variants (distinct, excluded ones never), its drill-down, Meta's count beside ours.
    rows = re.findall(r'<tr data-code="(\w+)" data-count="(\d+)"(?: data-meta-count="(\d+)")?>', body)
    assert rows
    for code, count, _meta in rows:
        assert int(count) == open_problem_variants(catalog, error_type__code=code), code
        if int(count):
            url = f"{reverse('health:items')}?tenant={catalog.tenant.slug}&error={code}"
            assert len(walk(merchant_client, url)) == int(count), code
    by_code = {code: (int(count), theirs) for code, count, theirs in rows}
    assert by_code["IMAGE_FETCH_FAILED"] == (1, "4")  # ours: the tote (two sources, one variant); Meta's: 4
    assert "kept hidden in Meta" in body  # why the two differ
    assert len(rows) == len(set(by_code))  # one row per problem
    # Meta's image group is that row now; the catalog-level finding stays in its own section.
    findings = body[body.index('data-testid="catalog-findings"') :]
    assert "Connect an event source" in findings and "Fix image issues" not in findings

    # The store without a catalog is said, not silently left out.
    assert cards["count-no-catalog"] == Variant.objects.filter(tenant=catalog.tenant, catalog__isnull=True).count() == 2


def test_csv_cells_reconcile_with_the_page(shop, catalog, merchant_client):
    expected = truth(catalog)
    body = b"".join(merchant_client.get(reverse("health:export"), {"state": "all"}).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    states_in_csv = Counter(r["state"] for r in rows)
    for state in ("live", "rejected", "hidden", "in_review", "failed", "pending", "excluded"):
        assert states_in_csv[state] == expected[state], state
    assert len(rows) == expected["total"]
    for row in rows:
        if row["state"] == "failed":
            assert row["fix"] and row["failure_source"] in ("LOCAL", "META_BATCH")
            assert row["error_from"] == ("galantis" if row["failure_source"] == "LOCAL" else "meta")
        if row["state"] in ("rejected", "hidden"):
            assert row["why_not_visible"]
        if row["status"] == "FAILED" and not row["accepted_by_meta_at"]:
            assert row["failure_source"]  # never sent: no time
    rejected = next(r for r in rows if r["state"] == "rejected")
    assert "COUNTERFEIT" in rejected["why_not_visible"] and rejected["review_status"] == "rejected"
    # The failed export is the failed card.
    failed = b"".join(merchant_client.get(reverse("health:export")).streaming_content).decode()
    assert len(list(csv.DictReader(io.StringIO(failed)))) == expected["failed"]


def test_no_issue_is_opened_for_an_archived_products_variants(shop, catalog):
    coat = [v.pk for v in shop["coat"]]
    assert not ItemIssue.objects.filter(variant_id__in=coat, resolved_at__isnull=True).exists()
    # The issue Meta reported while it was live was resolved when it became excluded.
    assert ItemIssue.objects.filter(variant_id__in=coat, resolved_at__isnull=False).exists()


def test_local_failures_are_quoted_as_ours_and_metas_as_meta(shop, merchant_client):
    mug = merchant_client.get(reverse("health:product", args=[shop["mug"][0].product_id])).content.decode()
    assert "Galantis found:" in mug and "Meta says:" not in mug
    lamp = merchant_client.get(reverse("health:product", args=[shop["lamp"][0].product_id])).content.decode()
    assert "Meta says:</span> Invalid value for availability: instock" in lamp


def test_a_problem_on_one_variant_leads_to_that_product(shop, catalog, merchant_client):
    response = merchant_client.get(URL)
    row = next(r for r in response.context["top_error_rows"] if r["group"].error_type.code == "PRODUCT_NOT_APPROVED")
    assert row["variant"].pk == shop["bag"][0].pk
    assert reverse("health:product", args=[shop["bag"][0].product_id]) in response.content.decode()


def test_the_catalog_wide_findings_no_longer_repeat_item_problems(shop, catalog, merchant_client):
    summary = merchant_client.get(URL).context["summary"]
    titles = [i.display_title for i in summary.catalog_wide_findings]
    assert titles == ["Connect an event source"]
    assert CatalogIssue.objects.open().filter(catalog=catalog).count() == 2


# --- over real HTTP: Meta's review rejects an item after the sync ------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_item_rejected_in_review_after_a_sync_is_synced_but_not_visible_with_its_reason(meta, client):  # noqa: F811
    """The sandbox's review rejects a "replica"; the verdict poll reads it; the page says why."""
    from catalog.models import Membership
    from catalog.tests.factories import CatalogFactory, MetaConnectionFactory, TenantFactory, UserFactory
    from diagnostics.tests.test_polling import LONG_DESCRIPTION, sync
    from diagnostics.verdicts import poll_verdicts

    tenant = TenantFactory(slug="replica-shop")
    store = ShopifyStoreFactory(tenant=tenant)
    connection = MetaConnectionFactory(
        tenant=tenant,
        business_id=meta["business_id"],
        access_token=meta["access_token"],
        token_last4=meta["access_token"][-4:],
    )
    catalog = CatalogFactory(tenant=tenant, store=store, connection=connection, meta_catalog_id=meta["catalog_id"])
    made = []
    for title in ("Leather watch", "Replica leather watch"):
        product = ProductFactory(
            tenant=tenant,
            store=store,
            title=title,
            description_html=LONG_DESCRIPTION,
            google_product_category="Apparel & Accessories > Jewelry > Watches",
        )
        made.append(
            VariantFactory(product=product, catalog=catalog, image_url="https://cdn.example.com/images/watch-large.jpg")
        )
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    sync(catalog)
    owner = UserFactory(username="replica-owner", is_staff=False)
    Membership.objects.create(user=owner, tenant=tenant, role=Membership.Role.OWNER)
    client.force_login(owner)

    cards = attr_counts(client.get(URL).content.decode(), "data-testid")
    assert (cards["count-in_review"], cards["count-not_visible"], cards["count-live"]) == (2, 0, 0)

    poll_verdicts(catalog, client_for(catalog))
    body = client.get(URL).content.decode()
    cards = attr_counts(body, "data-testid")
    assert (cards["count-live"], cards["count-not_visible"], cards["count-rejected"], cards["count-in_review"]) == (
        1,
        1,
        1,
        0,
    )
    replica = Variant.objects.get(pk=made[1].pk)
    assert (replica.meta_status, replica.verdict) == ("SYNCED", "REJECTED")
    why = body[body.index('data-testid="not-visible-why"') :]
    assert "<li>1 × rejected in Meta&#x27;s review: COUNTERFEIT</li>" in why[: why.index("</ul>")]
    listed = client.get(reverse("health:items"), {"state": "rejected"}).content.decode()
    assert f'data-variant="{replica.pk}"' in listed
    assert "Meta&#x27;s review rejected it (COUNTERFEIT)" in listed
    page = client.get(reverse("health:product", args=[replica.product_id])).content.decode()
    assert 'data-state="rejected"' in page and "Meta&#x27;s review rejected it (COUNTERFEIT)" in page
