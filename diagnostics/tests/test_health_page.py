"""The merchant health page: counts, top errors, connection state, freshness, tenancy, speed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog import tenants
from catalog.models import Catalog, Membership, MetaConnection
from catalog.tests.factories import (
    CatalogFactory,
    ProductFactory,
    ShopifyStoreFactory,
    TenantFactory,
    UserFactory,
    VariantFactory,
)
from diagnostics import error_catalog as ec
from diagnostics.models import Priority
from diagnostics.taxonomy import ErrorTypeCache
from diagnostics.tests.factories import (
    CatalogIssueFactory,
    DiagnosticsRunFactory,
    ErrorTypeFactory,
    HealthSnapshotFactory,
    ItemIssueFactory,
)

pytestmark = pytest.mark.django_db
URL = reverse("health:index")


def test_login_is_required(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("health:login"))


def test_counts_and_percentages(merchant_client, make_variants):
    make_variants(6, "SYNCED")
    make_variants(3, "PENDING")
    make_variants(1, "FAILED")
    response = merchant_client.get(URL)
    counts = response.context["summary"].counts
    assert (counts.synced, counts.pending, counts.failed, counts.total) == (6, 3, 1, 10)
    assert (counts.synced_pct, counts.pending_pct, counts.failed_pct) == (60.0, 30.0, 10.0)
    assert b"60.0%" in response.content and b"10.0%" in response.content


def test_top_errors_are_ordered_by_priority_then_count_with_a_cta(merchant_client, make_variants):
    low = ErrorTypeFactory(code="LOW_THING", priority=Priority.LOW)
    high = ErrorTypeFactory(code="HIGH_THING", priority=Priority.HIGH)
    for v in make_variants(3):
        ItemIssueFactory(variant=v, catalog=v.catalog, error_type=low, priority=Priority.LOW)
    for v in make_variants(2, "FAILED"):
        ItemIssueFactory(variant=v, catalog=v.catalog, error_type=high, priority=Priority.HIGH)
    response = merchant_client.get(URL)
    rows = response.context["top_error_rows"]
    assert [(r["group"].error_type.code, r["group"].count) for r in rows] == [("HIGH_THING", 2), ("LOW_THING", 3)]
    assert "error=HIGH_THING" in rows[0]["drill_url"]
    assert response.context["summary"].priority_totals == {"HIGH": 2, "MEDIUM": 0, "LOW": 3}


def test_top_errors_filter_by_priority(merchant_client, make_variants):
    low = ErrorTypeFactory(code="LOW_THING", priority=Priority.LOW)
    for v in make_variants(2):
        ItemIssueFactory(variant=v, catalog=v.catalog, error_type=low, priority=Priority.LOW)
    response = merchant_client.get(URL, {"priority": "HIGH"})
    assert response.context["top_error_rows"] == []


def test_resolved_issues_do_not_count(merchant_client, make_variants):
    (v,) = make_variants(1)
    ItemIssueFactory(variant=v, catalog=v.catalog, resolved_at=timezone.now())
    assert merchant_client.get(URL).context["top_error_rows"] == []


def test_only_the_users_tenant_is_shown(merchant_client, make_variants, other_tenant):
    make_variants(2, "SYNCED")
    other_catalog = CatalogFactory(tenant=other_tenant)
    VariantFactory.create_batch(
        5, product=ProductFactory(tenant=other_tenant), catalog=other_catalog, meta_status="FAILED"
    )
    response = merchant_client.get(URL)
    assert response.context["summary"].counts.total == 2
    assert response.context["tenants"] == [response.context["tenant"]]
    assert b"Tenant B" not in response.content


def test_another_tenant_by_slug_is_404(merchant_client, other_tenant):
    assert merchant_client.get(URL, {"tenant": other_tenant.slug}).status_code == 404


def test_another_tenants_catalog_is_404(merchant_client, tenant, other_tenant):
    other_catalog = CatalogFactory(tenant=other_tenant)
    assert merchant_client.get(URL, {"catalog": other_catalog.pk}).status_code == 404


def test_member_of_two_tenants_can_switch(client, tenant, catalog):
    second = TenantFactory(slug="second", name="Second shop")
    CatalogFactory(tenant=second)
    user = UserFactory(username="two-shops", is_staff=False)
    tenants.add_member(tenant, user, role=Membership.Role.VIEWER)
    tenants.add_member(second, user, role=Membership.Role.VIEWER)
    client.force_login(user)
    response = client.get(URL, {"tenant": "second"})
    assert response.context["tenant"] == second
    assert {t.slug for t in response.context["tenants"]} == {"tenant-a", "second"}
    assert b'id="tenant-switch"' in response.content
    # The choice sticks for the session.
    assert client.get(URL).context["tenant"] == second


def test_superuser_may_pick_any_tenant(admin_client, tenant, other_tenant):
    response = admin_client.get(URL, {"tenant": other_tenant.slug})
    assert response.context["tenant"] == other_tenant


def test_revoked_token_shows_a_blocking_banner(merchant_client, catalog, make_variants):
    make_variants(2, "PENDING")
    MetaConnection.objects.filter(pk=catalog.connection_id).update(token_status=MetaConnection.TokenStatus.REVOKED)
    CatalogIssueFactory(
        catalog=catalog,
        error_type=ErrorTypeCache().get(ec.TOKEN_REVOKED),
        key="sync",
        message="Error validating access token",
    )
    response = merchant_client.get(URL)
    assert response.context["summary"].connection.status == "revoked"
    assert b'data-testid="blocking-issue"' in response.content
    assert b"Meta access token revoked" in response.content


def test_token_expiring_soon_is_a_warning(merchant_client, catalog, settings):
    settings.META_TOKEN_WARNING_DAYS = 7
    MetaConnection.objects.filter(pk=catalog.connection_id).update(
        token_expires_at=timezone.now() + timedelta(days=5, hours=1)
    )
    response = merchant_client.get(URL)
    connection = response.context["summary"].connection
    assert (connection.status, connection.days_left, connection.level) == ("expiring", 5, "warn")
    assert b'data-testid="token-expiring"' in response.content
    assert b"Token expires in 5 days" in response.content


def test_token_expiring_later_than_the_warning_is_not_shown(merchant_client, catalog, settings):
    settings.META_TOKEN_WARNING_DAYS = 7
    MetaConnection.objects.filter(pk=catalog.connection_id).update(
        token_status=MetaConnection.TokenStatus.VALID, token_expires_at=timezone.now() + timedelta(days=30)
    )
    assert b'data-testid="token-expiring"' not in merchant_client.get(URL).content


def test_paused_catalog_shows_why(merchant_client, catalog):
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL, paused_reason="Stocktake")
    response = merchant_client.get(URL)
    assert "Stocktake" in response.context["summary"].connection.paused_reason
    assert b'data-testid="paused"' in response.content


def test_never_polled_is_stale_not_green(merchant_client, make_variants):
    make_variants(3, "SYNCED")
    response = merchant_client.get(URL)
    assert response.context["summary"].freshness.stale
    assert b'data-testid="stale"' in response.content
    assert b'data-testid="all-clear"' not in response.content


def test_failed_poll_shows_last_checked_instead_of_green(merchant_client, catalog, make_variants):
    make_variants(3, "SYNCED")
    ok_at = timezone.now() - timedelta(hours=5)
    DiagnosticsRunFactory(catalog=catalog, started_at=ok_at, finished_at=ok_at)
    DiagnosticsRunFactory(catalog=catalog, status="failed", error_message="Could not reach the Graph API")
    response = merchant_client.get(URL)
    freshness = response.context["summary"].freshness
    assert freshness.stale and freshness.last_checked_at == ok_at
    assert b"Could not reach the Graph API" in response.content


def test_all_clear_when_live_fresh_and_no_issues(merchant_client, catalog, make_variants):
    make_variants(3, "SYNCED", verdict="LIVE")
    DiagnosticsRunFactory(catalog=catalog)
    response = merchant_client.get(URL)
    assert b'data-testid="all-clear"' in response.content


def test_not_all_clear_while_meta_has_not_reviewed(merchant_client, catalog, make_variants):
    make_variants(3, "SYNCED")  # accepted, verdict not read yet
    DiagnosticsRunFactory(catalog=catalog)
    assert b'data-testid="all-clear"' not in merchant_client.get(URL).content


def test_trend_charts_are_inline_svg_ending_with_the_cards_numbers(merchant_client, catalog, make_variants):
    now = timezone.now()
    for hours, failed in ((3, 5), (2, 3), (1, 1)):
        HealthSnapshotFactory(catalog=catalog, taken_at=now - timedelta(hours=hours), synced=10, failed=failed)
    make_variants(2, "FAILED")
    response = merchant_client.get(URL)
    trend = response.context["summary"].trend
    assert [p["failed"] for p in trend] == [5, 3, 1, 2]  # the snapshots, then now: the failed card's 2
    assert response.content.count(b"<svg") >= 3  # status bar and two trend charts
    assert b'data-series="failed" data-count="2"' in response.content
    assert b"<script" not in response.content


def test_trend_sums_each_catalogs_latest_snapshot(merchant_client, tenant, catalog, store):
    """A catalog snapshotted after its own sync does not make the tenant's line dip."""
    second = CatalogFactory(tenant=tenant, name="Second", connection=catalog.connection)
    now = timezone.now()
    HealthSnapshotFactory(catalog=catalog, taken_at=now - timedelta(hours=2), live=10)
    HealthSnapshotFactory(catalog=second, taken_at=now - timedelta(hours=2), live=5)
    HealthSnapshotFactory(catalog=second, taken_at=now - timedelta(minutes=30), live=6)  # after a sync
    trend = merchant_client.get(URL).context["summary"].trend
    assert [p["live"] for p in trend[:-1]] == [15, 16]


@pytest.mark.parametrize("size", [3, 30])
def test_query_count_is_flat(merchant_client, catalog, make_variants, size, django_assert_num_queries):
    et = ErrorTypeFactory()
    for v in make_variants(size, "FAILED"):
        ItemIssueFactory(variant=v, catalog=catalog, error_type=et)
    CatalogIssueFactory(catalog=catalog)
    HealthSnapshotFactory.create_batch(3, catalog=catalog)
    merchant_client.get(URL)  # computes and stores the problem counts; the session remembers the tenant
    # session, user, tenants for the switcher, the summary's 10 queries (catalogs, catalog
    # issues, the issues' version, the memoised problem counts, their error types,
    # health_counts, connection, schedules, snapshots, stores without a catalog), the
    # user's roles (what they may see and do), and the Conversions API panel's 3
    # (settings, counts, last error), and the alerts banner's 1 (the tenant's open alerts;
    # alerts/ added it: 17 before), and the push freshness's 1 (per-call timings of the
    # last hour, issue 22)
    with django_assert_num_queries(19):
        merchant_client.get(URL)


@pytest.mark.parametrize("size", [3, 30])
def test_query_count_is_flat_with_every_part_shown(
    merchant_client, tenant, catalog, make_variants, size, django_assert_num_queries
):
    """Not-visible variants (their reasons, a bounded read) and a store without a catalog (its count)."""
    et = ErrorTypeFactory()
    for v in make_variants(size, "FAILED"):
        ItemIssueFactory(variant=v, catalog=catalog, error_type=et)
    make_variants(size, "SYNCED", verdict="REJECTED", review_status="rejected", review_rejection_reasons=["X"])
    make_variants(size, "SYNCED", verdict="NOT_VISIBLE", image_fetch_status="FETCH_FAILED")
    outlet = ShopifyStoreFactory(tenant=tenant, shop_domain="outlet.myshopify.com")
    VariantFactory.create_batch(size, product=ProductFactory(tenant=tenant, store=outlet), catalog=None)
    HealthSnapshotFactory.create_batch(3, catalog=catalog)
    merchant_client.get(URL)  # the session remembers the tenant
    # as above (without the session save), + the not-visible reasons + the unsent variants' count
    # (+1 since alerts/: the alerts banner's open alerts; +1 since issue 22: push freshness)
    with django_assert_num_queries(21):
        response = merchant_client.get(URL)
    assert response.context["summary"].not_visible_why == [
        ("rejected in Meta's review: X", size),
        ("Meta cannot fetch the image", size),
    ]
    assert response.context["summary"].unconnected.variants == size


def test_banner_quotes_meta_only_for_what_meta_said(merchant_client, catalog):
    from catalog.meta.errors import AuthError, TransientError
    from diagnostics.integration import clear_integration_errors, mirror_sync_pause, record_integration_error

    record_integration_error(catalog, AuthError("Error validating access token", code=190), operation="sync")
    assert "Meta said: Error validating access token" in merchant_client.get(URL).content.decode()

    clear_integration_errors(catalog, operation="sync")
    record_integration_error(
        catalog, TransientError("Could not reach the Graph API (ConnectionError)"), operation="sync"
    )
    body = merchant_client.get(URL).content.decode()
    assert "Details: Could not reach the Graph API" in body and "Meta said: Could not reach" not in body

    clear_integration_errors(catalog, operation="sync")
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.AUTH, paused_reason="Token expired")
    catalog.refresh_from_db()
    mirror_sync_pause(catalog)
    body = merchant_client.get(URL).content.decode()
    assert "Details: Token expired" in body and "Meta said: Token expired" not in body


def test_push_freshness_shows_the_last_hours_p95_and_the_budget_used(merchant_client, catalog, settings):
    """Issue 22: change -> sent / confirmed p95 of the last hour, and the calls spent against the budget."""
    import time_machine

    from catalog.models import SyncBatch

    settings.SYNC_BATCH_CALLS_PER_HOUR = 200
    now = timezone.now().replace(minute=30)  # mid-hour: every call below is this clock hour's
    traveller = time_machine.travel(now, tick=False)
    traveller.start()
    for n in range(20):  # 19 calls took 2 s to send and 6 s to confirm; one took 30 s and 50 s
        slow = n == 19
        SyncBatch.objects.create(
            tenant=catalog.tenant,
            catalog=catalog,
            state=SyncBatch.State.FINISHED,
            changed_at=now - timedelta(seconds=60),
            sent_at=now - timedelta(seconds=30 if slow else 58),
            finished_at=now - timedelta(seconds=10 if slow else 54),
        )
    SyncBatch.objects.create(  # two hours ago: not in this hour's figures
        tenant=catalog.tenant,
        catalog=catalog,
        state=SyncBatch.State.FINISHED,
        changed_at=now - timedelta(hours=2),
        sent_at=now - timedelta(hours=2),
        finished_at=now - timedelta(hours=1),
    )
    try:
        response = merchant_client.get(URL)
    finally:
        traveller.stop()
    ((shown, fresh),) = response.context["summary"].push_freshness
    assert shown == catalog
    assert (fresh.samples, fresh.sent_p95, fresh.confirmed_p95) == (20, 2.0, 6.0)
    assert (fresh.calls_this_hour, fresh.budget_used_pct) == (20, 10)
    html = response.content.decode()
    assert 'data-testid="push-freshness"' in html
    assert "2.0 s (p95" in html and "6.0 s (p95" in html
    assert "20 of 200 (10%)" in html
