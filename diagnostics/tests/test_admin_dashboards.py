"""Staff dashboards: the cross-tenant sync dashboard and a diagnostics page per catalog."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from catalog.models import Catalog, GraphThrottle, SyncBatch
from catalog.tests.factories import CatalogFactory, ProductFactory, SyncBatchFactory, VariantFactory
from diagnostics.tests.factories import DiagnosticsRunFactory, ErrorTypeFactory, ItemIssueFactory

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("admin:diagnostics_cataloghealth_changelist")


def diagnostics_url(catalog):
    return reverse("admin:diagnostics_cataloghealth_diagnostics", args=[catalog.pk])


def action_url(catalog):
    return reverse("admin:diagnostics_cataloghealth_action", args=[catalog.pk])


def queued_funcs() -> list[str]:
    return [q.func() for q in OrmQ.objects.all()]


def test_superuser_sees_every_tenants_catalogs(admin_client, catalog, other_tenant):
    CatalogFactory(tenant=other_tenant)
    response = admin_client.get(DASHBOARD)
    assert response.status_code == 200
    assert len(response.context["board"].rows) == 2
    assert "Sync dashboard" in response.context["title"]


def test_staff_sees_only_their_tenants_catalogs(staff_client, catalog, other_tenant):
    CatalogFactory(tenant=other_tenant, name="Hidden catalog")
    response = staff_client.get(DASHBOARD)
    assert [row.catalog for row in response.context["board"].rows] == [catalog]
    assert b"Hidden catalog" not in response.content


def test_dashboard_shows_counts_in_flight_paused_and_headroom(admin_client, catalog):
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    VariantFactory.create_batch(3, product=product, catalog=catalog, meta_status="SYNCED")
    VariantFactory.create_batch(2, product=product, catalog=catalog, meta_status="FAILED")
    SyncBatchFactory(catalog=catalog, state=SyncBatch.State.SENT, item_count=40)
    Catalog.objects.filter(pk=catalog.pk).update(
        pause_kind=Catalog.PauseKind.RATE_LIMIT, paused_reason="Meta rate limit (80014)"
    )
    GraphThrottle.objects.create(
        key=f"catalog:{catalog.meta_catalog_id}:batch", usage_pct=85, updated_at=timezone.now()
    )
    board = admin_client.get(DASHBOARD).context["board"]
    row = board.rows[0]
    assert (row.counts.synced, row.counts.failed) == (3, 2)
    assert row.in_flight == 1 and len(board.in_flight) == 1
    assert row.paused and row.pause_reason == "Meta rate limit (80014)"
    assert row.headroom_pct == 15


def test_catalog_diagnostics_page(admin_client, catalog):
    et = ErrorTypeFactory(code="SOME_PROBLEM")
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    for v in VariantFactory.create_batch(2, product=product, catalog=catalog, meta_status="FAILED"):
        ItemIssueFactory(variant=v, catalog=catalog, error_type=et)
    DiagnosticsRunFactory(catalog=catalog)
    response = admin_client.get(diagnostics_url(catalog))
    assert response.status_code == 200
    assert [(g.error_type.code, g.count) for g in response.context["summary"].top_errors] == [("SOME_PROBLEM", 2)]
    assert b"Retry failed items" in response.content


def test_staff_cannot_open_another_tenants_diagnostics(staff_client, other_tenant):
    other = CatalogFactory(tenant=other_tenant)
    assert staff_client.get(diagnostics_url(other)).status_code == 404
    assert staff_client.post(action_url(other), {"action": "repoll"}).status_code == 404


def test_repoll_enqueues_tasks_and_never_calls_meta(admin_client, catalog, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(action_url(catalog), {"action": "repoll"})
    assert response.status_code == 302
    assert queued_funcs() == ["diagnostics.tasks.poll_catalog", "diagnostics.tasks.poll_catalog_diagnostics"]


def test_retry_failed_enqueues_a_task(admin_client, catalog, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(action_url(catalog), {"action": "retry_failed"})
    assert queued_funcs() == ["diagnostics.tasks.retry_failed"]


def test_pause_and_resume(admin_client, catalog, django_capture_on_commit_callbacks):
    admin_client.post(action_url(catalog), {"action": "pause", "reason": "Stocktake"})
    catalog.refresh_from_db()
    assert catalog.pause_kind == Catalog.PauseKind.MANUAL and "Stocktake" in catalog.paused_reason
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(action_url(catalog), {"action": "resume"})
    catalog.refresh_from_db()
    assert not catalog.is_paused
    assert queued_funcs() == ["catalog.tasks.push_catalog"]


def test_viewer_without_change_permission_cannot_act(client, tenant, catalog):
    from catalog import tenants
    from catalog.models import Membership
    from catalog.tests.factories import UserFactory

    viewer = UserFactory(username="viewer", is_staff=True)
    tenants.add_member(tenant, viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)
    assert client.get(DASHBOARD).status_code == 200
    assert client.post(action_url(catalog), {"action": "pause"}).status_code == 403


@pytest.mark.parametrize("catalogs", [1, 6])
def test_dashboard_query_count_is_flat(admin_client, catalogs, django_assert_num_queries):
    for _ in range(catalogs):
        c = CatalogFactory()
        VariantFactory.create_batch(2, product=ProductFactory(tenant=c.tenant, store=c.store), catalog=c)
        SyncBatchFactory(catalog=c, state=SyncBatch.State.SENT)
    admin_client.get(DASHBOARD)
    # session, user, catalogs (with last batch / poll), status counts, batch calls, catalog issues,
    # in-flight batches, throttle rows, throughput
    with django_assert_num_queries(9):
        admin_client.get(DASHBOARD)
