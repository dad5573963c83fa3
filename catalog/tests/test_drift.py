"""Drift and ghost detection against the sandbox over HTTP (catalog.sync.drift, issue 19 part 2).

Drift and ghosts are planted the way they happen: another client edits or creates items
through the Graph API (Commerce Manager, another tool), or a delete is lost.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from catalog import tasks
from catalog.meta.client import GraphClient
from catalog.models import DriftFinding, DriftScan, MetaItemDeletion, SyncBatch, Variant
from catalog.sync import confirm, drift, feeds, run
from catalog.tests.test_sync_e2e import add_variants, catalog, meta, meta_items  # noqa: F401  (fixtures)
from sandbox.models import ProductItem

pytestmark = pytest.mark.django_db(transaction=True)
Kind = DriftFinding.Kind
State = DriftFinding.State


def synced(target, n: int = 3) -> list[Variant]:
    variants = add_variants(target, n)
    assert not run.sync_now(target, mode="batch", wait=True, timeout=60).timed_out
    return variants


def another_tool(target, requests: list[dict]) -> None:
    """Someone else writes to the catalog (Commerce Manager, a second tool)."""
    GraphClient(target.connection.access_token).post(
        f"{target.meta_catalog_id}/items_batch", {"item_type": "PRODUCT_ITEM", "requests": requests}
    )


def full_pass(target) -> drift.ScanReport:
    target.refresh_from_db()
    report = drift.scan(target, pages=50)
    assert report.pass_finished and not report.error
    return report


def settle(target) -> None:
    deadline = time.monotonic() + 60
    while SyncBatch.objects.filter(catalog=target, state__in=SyncBatch.IN_FLIGHT_STATES).exists():
        assert time.monotonic() < deadline
        confirm.confirm_catalog(target, force=True)


def test_an_edit_made_in_meta_is_found_and_overwritten_with_our_payload(catalog):  # noqa: F811
    edited, *_ = synced(catalog)
    another_tool(catalog, [{"method": "UPDATE", "data": {"id": edited.retailer_id, "price": "1.00 USD"}}])
    report = full_pass(catalog)
    assert (report.drifted, report.ghosts, report.repushed) == (1, 0, 1)
    finding = DriftFinding.objects.get(catalog=catalog, kind=Kind.DRIFT)
    assert finding.variant_id == edited.pk and [d["field"] for d in finding.differences] == ["price"]
    assert finding.state == State.FIXED and "Re-pushed" in finding.resolution
    edited.refresh_from_db()
    assert edited.meta_status == Variant.SyncStatus.PENDING
    run.sync_now(catalog, mode="batch", wait=True, timeout=60)
    assert str(edited.price) in meta_items(catalog)[edited.retailer_id]["price"]  # ours again, not 1.00
    assert full_pass(catalog).drifted == 0


def test_ghosts_are_reported_not_touched_and_gone_ones_close(catalog):  # noqa: F811
    ours = synced(catalog)
    another_tool(
        catalog,
        [
            {
                "method": "CREATE",
                "data": {
                    "id": "OTHER-TOOL-1",
                    "title": "Someone else's",
                    "description": "x",
                    "availability": "in stock",
                    "condition": "new",
                    "price": "5.00 USD",
                    "link": "https://shop.example.com/x",
                    "image_link": "https://cdn.example.com/x.jpg",
                    "brand": "Other",
                },
            }
        ],
    )
    assert ours
    report = full_pass(catalog)
    assert (report.ghosts, report.drifted) == (1, 0)
    ghost = DriftFinding.objects.get(catalog=catalog, kind=Kind.GHOST)
    assert (ghost.retailer_id, ghost.variant_id, ghost.state) == ("OTHER-TOOL-1", None, State.OPEN)
    assert "OTHER-TOOL-1" in meta_items(catalog)  # reported, never deleted on our own initiative
    assert full_pass(catalog).ghosts == 1
    ghost.refresh_from_db()
    assert ghost.times_found == 2

    drift.delete_ghosts(catalog, [ghost])
    assert MetaItemDeletion.objects.get(retailer_id="OTHER-TOOL-1").reason == MetaItemDeletion.Reason.GHOST
    tasks.send_due_item_deletions()
    assert "OTHER-TOOL-1" not in meta_items(catalog)
    full_pass(catalog)
    ghost.refresh_from_db()
    assert ghost.state == State.FIXED


def test_a_ghost_can_be_hidden_or_dismissed(catalog):  # noqa: F811
    synced(catalog, 1)
    item = {
        "title": "T",
        "description": "x",
        "availability": "in stock",
        "condition": "new",
        "price": "5.00 USD",
        "link": "https://shop.example.com/x",
        "image_link": "https://cdn.example.com/x.jpg",
        "brand": "Other",
    }
    another_tool(
        catalog,
        [{"method": "CREATE", "data": {**item, "id": "G1"}}, {"method": "CREATE", "data": {**item, "id": "G2"}}],
    )
    full_pass(catalog)
    g1, g2 = DriftFinding.objects.filter(kind=Kind.GHOST).order_by("retailer_id")
    assert drift.hide_ghosts(catalog, [g1]) == 1
    assert ProductItem.objects.get(retailer_id="G1").visibility == "staging"
    drift.dismiss([g2])
    full_pass(catalog)
    g2.refresh_from_db()
    assert g2.state == State.DISMISSED and g2.times_found == 2  # seen again, stays dismissed


def test_a_lost_delete_is_found_and_deleted_by_the_rules(catalog):  # noqa: F811
    gone, *_ = synced(catalog)
    # We recorded the deletion, Meta never did it (a lost DELETE: Case B, docs/meta-ingestion-rules.md).
    Variant.objects.filter(pk=gone.pk).update(
        meta_deleted_at=timezone.now(), synced_hash="", meta_item_id="", removed_at=timezone.now()
    )
    report = full_pass(catalog)
    assert report.ghosts == 1
    ghost = DriftFinding.objects.get(kind=Kind.GHOST)
    assert ghost.variant_id == gone.pk
    drift.delete_ghosts(catalog, [ghost])
    catalog.delete_grace_days = 0
    catalog.save(update_fields=["delete_grace_days"])
    # Listed (hidden) by a replace feed, so its feed owns it, then left out of the next one.
    for _ in range(2):
        feeds.push_feeds(catalog, SyncBatch.Kind.REPLACE_FEED, force=True)
        settle(catalog)
        run.prepare(catalog)
    assert gone.retailer_id not in meta_items(catalog)


def test_a_pass_is_spread_over_runs_and_resumes_where_it_stopped(catalog, monkeypatch):  # noqa: F811
    synced(catalog, 5)
    monkeypatch.setattr(drift, "PAGE_SIZE", 2)
    first = drift.scan(catalog, pages=1)
    state = DriftScan.objects.get(catalog=catalog)
    assert (first.items, first.pass_finished, bool(state.cursor)) == (2, False, True)
    second = drift.scan(catalog, pages=1)
    third = drift.scan(catalog, pages=5)
    state.refresh_from_db()
    assert (second.items, third.items, third.pass_finished) == (2, 1, True)
    assert state.cursor == "" and state.last_pass_items == 5 and state.last_pass_calls >= 3


def test_a_duplicate_catalog_holding_our_items_is_reported(catalog, meta):  # noqa: F811
    ours = synced(catalog, 2)
    client = GraphClient(catalog.connection.access_token)
    copy = client.post(f"{meta['business_id']}/owned_product_catalogs", {"name": "Old copy", "vertical": "commerce"})
    item = meta_items(catalog)[ours[0].retailer_id]
    assert item
    client.post(
        f"{copy['id']}/items_batch",
        {
            "item_type": "PRODUCT_ITEM",
            "requests": [
                {
                    "method": "CREATE",
                    "data": {
                        "id": ours[0].retailer_id,
                        "title": "Copy",
                        "description": "x",
                        "availability": "in stock",
                        "condition": "new",
                        "price": "5.00 USD",
                        "link": "https://shop.example.com/x",
                        "image_link": "https://cdn.example.com/x.jpg",
                        "brand": "Acme",
                    },
                }
            ],
        },
    )
    report = full_pass(catalog)
    assert report.duplicates == 1
    # The business's catalogs listed once, one search of the other catalog, one page of ours.
    assert report.calls == 3
    finding = DriftFinding.objects.get(kind=Kind.DUPLICATE_CATALOG)
    assert finding.retailer_id == str(copy["id"]) and finding.meta_values["name"] == "Old copy"


def test_deleting_ghosts_from_the_admin_asks_first_and_is_the_owners(catalog, client):  # noqa: F811
    from catalog.models import Membership
    from catalog.tests.factories import MembershipFactory, UserFactory

    ghost = DriftFinding.objects.create(
        tenant=catalog.tenant,
        catalog=catalog,
        kind=Kind.GHOST,
        retailer_id="G9",
        first_found_at=timezone.now(),
        last_found_at=timezone.now(),
    )
    url = "/admin/catalog/driftfinding/"
    form = {"action": "delete_from_meta", "_selected_action": [ghost.pk]}
    staff = UserFactory(is_staff=True)
    MembershipFactory(user=staff, tenant=catalog.tenant, role=Membership.Role.STAFF)
    client.force_login(staff)
    # Deleting from Meta is the owner's call: staff are not offered the action, and posting it does nothing.
    assert "delete_from_meta" not in client.get(url).content.decode()
    assert client.post(url, form).status_code == 302 and not MetaItemDeletion.objects.exists()
    owner = UserFactory(is_staff=True)
    MembershipFactory(user=owner, tenant=catalog.tenant, role=Membership.Role.OWNER)
    client.force_login(owner)
    page = client.post(url, form)
    assert page.status_code == 200 and "Delete these items from Meta?" in page.content.decode()
    assert not MetaItemDeletion.objects.exists()  # nothing happens before the confirmation
    client.post(url, {**form, "confirmed": "yes"})
    assert MetaItemDeletion.objects.get().retailer_id == "G9"
    ghost.refresh_from_db()
    assert ghost.state == State.FIXED and ghost.resolved_by == owner


def test_at_a_million_items_a_pass_is_21_pages_a_run_and_about_2000_calls_a_day(monkeypatch, settings):
    """The README's figures: 96 runs a day (every 15 minutes) of 21 pages of 500 cover 1,000,000 items."""
    settings.DRIFT_SCAN_EVERY_MINUTES, settings.DRIFT_MIN_PAGES_PER_RUN = 15, 1
    monkeypatch.setattr(drift.VariantStateCount.objects, "total", lambda **_: 1_000_000)
    pages = drift.pages_per_run(drift.Catalog(pk=1))
    runs = 24 * 60 // settings.DRIFT_SCAN_EVERY_MINUTES
    assert pages == 21 and runs * pages == 2016 and runs * pages * drift.PAGE_SIZE >= 1_000_000


def _our_data_statement(sql: str) -> bool:
    control = sql.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"))
    return not control and "sandbox_" not in sql and "catalog_graphthrottle" not in sql


def test_five_percent_drift_is_found_and_repushed_a_bounded_page_at_a_time(catalog, monkeypatch, settings):  # noqa: F811
    """A catalog with 5% drift, scaled down (200 items, pages of 20): each run reads its pages only,
    its statements grow with pages, not with items or drifted items, and every drifted item goes back."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.DRIFT_SCAN_EVERY_MINUTES = 6 * 60  # 4 runs a day: a pass of 10 pages is 3 pages a run
    monkeypatch.setattr(drift, "PAGE_SIZE", 20)
    ours = synced(catalog, 200)
    drifted = ours[::20]  # 10 items, spread over the pages
    another_tool(catalog, [{"method": "UPDATE", "data": {"id": v.retailer_id, "price": "1.00 USD"}} for v in drifted])
    catalog.refresh_from_db()
    assert drift.pages_per_run(catalog) == 3

    reports, statements = [], []
    while not (reports and reports[-1].pass_finished):
        assert len(reports) < 5
        with CaptureQueriesContext(connection) as queries:
            reports.append(drift.scan(catalog))
        # Ours only: the sandbox answers in this process, on the same connection (SQLite in memory),
        # and only statements that read or write rows: transaction control and the Graph
        # throttle's bookkeeping follow the calls, not the items.
        statements.append(sum(_our_data_statement(q["sql"]) for q in queries.captured_queries))
    assert [r.items for r in reports] == [60, 60, 60, 20]
    assert sum(r.calls for r in reports) == 1 + 10  # the business's catalogs once, then one call per page
    assert sum(r.drifted for r in reports) == sum(r.repushed for r in reports) == 10
    # About 15 a page whatever is in it (about 50 for the first run, which also lists the
    # business's catalogs); one per item would add 60 a run.
    assert max(statements) <= 65
    assert set(DriftFinding.objects.filter(kind=Kind.DRIFT).values_list("state", flat=True)) == {State.FIXED}

    run.sync_now(catalog, mode="batch", wait=True, timeout=60)
    held = meta_items(catalog)
    assert all(str(v.price) in held[v.retailer_id]["price"] for v in drifted)  # ours again
    assert full_pass(catalog).drifted == 0


def test_staff_repush_drift_from_the_admin_when_automatic_repush_is_off(catalog, client, settings):  # noqa: F811
    from catalog.models import Membership
    from catalog.tests.factories import MembershipFactory, UserFactory

    settings.DRIFT_AUTO_REPUSH = False
    edited, *_ = synced(catalog)
    another_tool(catalog, [{"method": "UPDATE", "data": {"id": edited.retailer_id, "price": "1.00 USD"}}])
    report = full_pass(catalog)
    assert (report.drifted, report.repushed) == (1, 0)
    finding = DriftFinding.objects.get(kind=Kind.DRIFT)
    edited.refresh_from_db()
    assert finding.state == State.OPEN and edited.meta_status == Variant.SyncStatus.SYNCED  # reported only

    staff = UserFactory(is_staff=True)
    MembershipFactory(user=staff, tenant=catalog.tenant, role=Membership.Role.STAFF)
    client.force_login(staff)
    form = {"action": "repush", "_selected_action": [finding.pk]}
    assert client.post("/admin/catalog/driftfinding/", form).status_code == 302

    finding.refresh_from_db()
    edited.refresh_from_db()
    assert finding.state == State.FIXED and edited.meta_status == Variant.SyncStatus.PENDING
    run.sync_now(catalog, mode="batch", wait=True, timeout=60)
    assert str(edited.price) in meta_items(catalog)[edited.retailer_id]["price"]  # ours again
    assert full_pass(catalog).drifted == 0
