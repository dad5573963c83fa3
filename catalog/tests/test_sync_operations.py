"""Operating the sync without Meta: commands' dry run and status, admin actions, pauses, schedules."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from catalog import item_state
from catalog.meta.errors import AuthError, PermissionDenied, RateLimited, TransientError
from catalog.models import Catalog, MetaConnection, SyncBatch, Variant
from catalog.sync import pause, schedule
from catalog.tests.factories import CatalogFactory, ProductFactory, VariantFactory
from galantis.schedules import registry

pytestmark = pytest.mark.django_db


def add_variants(catalog, n):
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    made = [VariantFactory(product=product, catalog=catalog) for _ in range(n)]
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    return made


def queued_funcs() -> list[str]:
    return [task.func() for task in OrmQ.objects.all()]


# -- commands ------------------------------------------------------------------------------


def test_dry_run_prints_what_would_be_sent_without_calling_meta(catalog):
    add_variants(catalog, 3)
    out = StringIO()
    call_command("sync_catalog", "--tenant", catalog.tenant.slug, "--dry-run", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["would_send"] == {"UPDATE": 3}
    assert len(result["samples"]["UPDATE"]) == 3
    assert not SyncBatch.objects.exists()


def test_sync_catalog_rejects_an_unknown_catalog(catalog):
    with pytest.raises(CommandError, match="no catalog with id"):
        call_command("sync_catalog", "--tenant", catalog.tenant.slug, "--catalog", "999999")


def test_sync_catalog_cannot_reach_another_tenants_catalog(catalog):
    other = CatalogFactory()
    with pytest.raises(CommandError):
        call_command("sync_catalog", "--tenant", catalog.tenant.slug, "--catalog", str(other.pk))


def test_sync_status_shows_counts_and_the_pause_reason(catalog):
    add_variants(catalog, 2)
    pause.pause(catalog, Catalog.PauseKind.MANUAL, "Paused for the test")
    out = StringIO()
    call_command("sync_status", "--tenant", catalog.tenant.slug, stdout=out)
    assert "PENDING 2" in out.getvalue()
    assert "PAUSED (manual)" in out.getvalue() and "Paused for the test" in out.getvalue()


def test_ensure_schedules_is_idempotent_and_never_catches_up(settings):
    call_command("ensure_schedules", stdout=StringIO())
    call_command("ensure_schedules", stdout=StringIO())
    names = set(Schedule.objects.values_list("name", flat=True))
    assert {every.name for every in schedule.SCHEDULES} <= names
    assert Schedule.objects.filter(func="catalog.tasks.push_due_catalogs").count() == 1
    assert settings.Q_CLUSTER["catch_up"] is False
    push_schedule = Schedule.objects.get(func="catalog.tasks.push_due_catalogs")
    assert (push_schedule.schedule_type, push_schedule.minutes) == (Schedule.MINUTES, 1)


def test_schedules_come_only_from_the_registry():
    """Nothing creates a schedule but ensure_schedules, and it removes our own ones no longer listed."""
    assert not Schedule.objects.exists()  # migrations and post-migrate hooks create none
    Schedule.objects.create(name="an old name", func="catalog.tasks.push_due_catalogs", schedule_type="I", minutes=1)
    Schedule.objects.create(name="someone else's", func="othertool.tasks.run", schedule_type="I", minutes=1)
    call_command("ensure_schedules", stdout=StringIO())
    names = set(Schedule.objects.values_list("name", flat=True))
    assert names == {every.name for every in registry()} | {"someone else's"}


# -- pauses --------------------------------------------------------------------------------


def test_expired_token_pauses_and_marks_the_connection(catalog):
    pause.pause_for_error(catalog, AuthError("Session has expired", code=190, subcode=463))
    catalog.refresh_from_db()
    assert catalog.pause_kind == Catalog.PauseKind.AUTH and catalog.paused_at
    assert MetaConnection.objects.get(pk=catalog.connection_id).token_status == "expired"
    assert not pause.resume_if_cause_gone(catalog)


def test_saving_a_new_token_resumes(catalog):
    pause.pause_for_error(catalog, AuthError("revoked", code=190, subcode=467))
    connection = MetaConnection.objects.get(pk=catalog.connection_id)
    connection.set_token("EAAnewtoken000000000000000001")
    connection.save()
    catalog.refresh_from_db()
    assert pause.resume_if_cause_gone(catalog)
    assert Catalog.objects.get(pk=catalog.pk).pause_kind == ""


def test_missing_permission_is_rechecked_later(catalog):
    pause.pause_for_error(catalog, PermissionDenied("(#200) no access", code=200))
    catalog.refresh_from_db()
    assert catalog.pause_kind == Catalog.PauseKind.PERMISSION
    assert not pause.resume_if_cause_gone(catalog)
    Catalog.objects.filter(pk=catalog.pk).update(paused_until=timezone.now() - timedelta(seconds=1))
    catalog.refresh_from_db()
    assert pause.resume_if_cause_gone(catalog)


def test_rate_limit_pause_lasts_as_long_as_meta_asked(catalog):
    pause.pause_for_error(catalog, RateLimited("(#80014) too many calls", code=80014, retry_after=600))
    catalog.refresh_from_db()
    assert timedelta(seconds=590) < catalog.paused_until - timezone.now() <= timedelta(seconds=600)
    assert not pause.resume_if_cause_gone(catalog)


def test_outages_back_off_longer_each_time(catalog):
    waits = []
    for _ in range(3):
        pause.pause_for_error(catalog, TransientError("down", http_status=503))
        catalog.refresh_from_db()
        waits.append((catalog.paused_until - timezone.now()).total_seconds())
    assert waits[0] < waits[1] < waits[2]


def test_outage_back_off_grows_across_retries_until_a_call_succeeds(catalog):
    """Each retry after the back-off resumes the catalog; a failing one must back off longer."""
    waits = []
    for _ in range(3):
        pause.pause_for_error(catalog, TransientError("down", http_status=503))
        catalog.refresh_from_db()
        waits.append((catalog.paused_until - timezone.now()).total_seconds())
        Catalog.objects.filter(pk=catalog.pk).update(paused_until=timezone.now() - timedelta(seconds=1))
        catalog.refresh_from_db()
        assert pause.resume_if_cause_gone(catalog)  # the back-off passed: retry
    assert waits[0] < waits[1] < waits[2]
    pause.note_success(catalog)
    pause.pause_for_error(catalog, TransientError("down again", http_status=503))
    catalog.refresh_from_db()
    assert (catalog.paused_until - timezone.now()).total_seconds() <= waits[0] + 1


def test_manual_pause_waits_for_staff(catalog):
    pause.pause(catalog, Catalog.PauseKind.MANUAL, "staff")
    Catalog.objects.filter(pk=catalog.pk).update(paused_until=timezone.now() - timedelta(days=1))
    catalog.refresh_from_db()
    assert not pause.resume_if_cause_gone(catalog)


# -- schedule planning ---------------------------------------------------------------------


def test_planner_queues_one_push_per_catalog_with_pending_work(catalog, django_capture_on_commit_callbacks):
    add_variants(catalog, 2)
    idle = CatalogFactory()
    read_only = CatalogFactory(flow=Catalog.Flow.LINK)
    add_variants(read_only, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule.enqueue_due_pushes() == 1
    assert queued_funcs() == ["catalog.tasks.push_requested"]  # coalesced (catalog.sync.push_requests)
    assert idle.pk != catalog.pk


def test_replace_feed_follows_the_table(catalog):
    now = timezone.now()
    assert schedule.due_shards(catalog, SyncBatch.Kind.REPLACE_FEED, now=now) == [0]
    catalog.feeds.create(tenant=catalog.tenant, shard=0, meta_feed_id="1", name="f", last_replace_at=now)
    assert schedule.due_shards(catalog, SyncBatch.Kind.REPLACE_FEED, now=now + timedelta(minutes=59)) == []
    assert schedule.due_shards(catalog, SyncBatch.Kind.REPLACE_FEED, now=now + timedelta(minutes=61)) == [0]
    Catalog.objects.filter(pk=catalog.pk).update(update_frequency=Catalog.UpdateFrequency.DAILY)
    catalog.refresh_from_db()
    assert schedule.due_shards(catalog, SyncBatch.Kind.REPLACE_FEED, now=now + timedelta(hours=5)) == []
    assert catalog.effective_delta_method == Catalog.DeltaMethod.NONE


def test_update_feeds_run_every_15_minutes_when_chosen(catalog):
    now = timezone.now()
    assert schedule.due_shards(catalog, SyncBatch.Kind.UPDATE_FEED, now=now) == []  # Batch API by default
    Catalog.objects.filter(pk=catalog.pk).update(delta_method=Catalog.DeltaMethod.UPDATE_FEED)
    catalog.refresh_from_db()
    catalog.feeds.create(tenant=catalog.tenant, shard=0, meta_feed_id="1", name="f", last_update_at=now)
    assert schedule.due_shards(catalog, SyncBatch.Kind.UPDATE_FEED, now=now + timedelta(minutes=14)) == []
    assert schedule.due_shards(catalog, SyncBatch.Kind.UPDATE_FEED, now=now + timedelta(minutes=16)) == [0]


def test_a_big_backlog_waits_for_the_due_replace_feed(catalog, settings):
    settings.SYNC_FEED_PREFERRED_ABOVE = 3
    add_variants(catalog, 5)
    assert schedule.shards_waiting_for_feed(catalog) == {0}
    settings.SYNC_FEED_PREFERRED_ABOVE = 10
    assert schedule.shards_waiting_for_feed(catalog) == set()


# -- admin ---------------------------------------------------------------------------------


def test_admin_push_now_enqueues_and_never_calls_meta(admin_client, catalog, django_capture_on_commit_callbacks):
    url = reverse("admin:catalog_catalog_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"action": "push_now", "_selected_action": [catalog.pk]}, follow=True)
    assert response.status_code == 200
    assert queued_funcs() == ["catalog.tasks.push_catalog"]
    assert not SyncBatch.objects.exists()


def test_admin_pause_and_resume(admin_client, catalog, django_capture_on_commit_callbacks):
    url = reverse("admin:catalog_catalog_changelist")
    admin_client.post(url, {"action": "pause_sync", "_selected_action": [catalog.pk]})
    assert Catalog.objects.get(pk=catalog.pk).pause_kind == Catalog.PauseKind.MANUAL
    page = admin_client.get(reverse("admin:catalog_catalog_change", args=[catalog.pk]))
    assert "Sync paused" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"action": "resume_sync", "_selected_action": [catalog.pk]})
    assert Catalog.objects.get(pk=catalog.pk).pause_kind == ""


def test_admin_retry_failed_requeues_only_items_meta_rejected(admin_client, catalog):
    rejected, local = add_variants(catalog, 2)
    Variant.objects.filter(pk=rejected.pk).update(
        meta_status="FAILED", last_error_code="META_REJECTED", failure_source="META_BATCH"
    )
    Variant.objects.filter(pk=local.pk).update(
        meta_status="FAILED", last_error_code="EMPTY_IMAGE_URL", failure_source="LOCAL"
    )
    admin_client.post(
        reverse("admin:catalog_catalog_changelist"), {"action": "retry_failed", "_selected_action": [catalog.pk]}
    )
    assert Variant.objects.get(pk=rejected.pk).meta_status == "PENDING"
    assert Variant.objects.get(pk=local.pk).meta_status == "FAILED"


def test_batch_admin_shows_metas_errors(admin_client, catalog):
    batch = SyncBatch.objects.create(
        tenant=catalog.tenant,
        catalog=catalog,
        state=SyncBatch.State.FINISHED,
        errors=[{"line": 2, "id": "sku-9", "message": "Invalid price format"}],
        error_count=1,
    )
    page = admin_client.get(reverse("admin:catalog_syncbatch_change", args=[batch.pk])).content.decode()
    assert "sku-9" in page and "Invalid price format" in page


def test_staff_cannot_act_on_another_tenants_catalog(staff_client, catalog):
    other = CatalogFactory()
    staff_client.post(
        reverse("admin:catalog_catalog_changelist"), {"action": "pause_sync", "_selected_action": [other.pk]}
    )
    assert Catalog.objects.get(pk=other.pk).pause_kind == ""
