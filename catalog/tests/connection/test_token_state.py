"""Recording a token verdict: pause with the reason, resume (and re-queue) on a good token, summaries."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.connection import token_health
from catalog.connection.token_health import TokenCheck
from catalog.models import Catalog, MetaConnection, Variant
from catalog.tests.factories import CatalogFactory, MetaConnectionFactory, ProductFactory, VariantFactory

Status = MetaConnection.TokenStatus


@pytest.fixture
def connection(tenant):
    return MetaConnectionFactory(tenant=tenant)


@pytest.fixture
def synced_catalog(tenant, store, connection):
    return CatalogFactory(tenant=tenant, store=store, connection=connection, sync_enabled=True)


@pytest.mark.django_db
def test_expired_verdict_pauses_with_reason_and_keeps_sync_enabled(connection, synced_catalog):
    token_health.record_check(connection, TokenCheck(Status.EXPIRED, "The Meta token expired on 2026-01-01."))
    synced_catalog.refresh_from_db()
    assert synced_catalog.sync_enabled is True
    assert "expired on 2026-01-01" in synced_catalog.paused_reason
    assert synced_catalog.pause_kind == Catalog.PauseKind.AUTH


@pytest.mark.django_db
def test_good_verdict_resumes_and_queues_a_push(connection, synced_catalog, django_capture_on_commit_callbacks):
    token_health.record_check(connection, TokenCheck(Status.REVOKED, "revoked"))
    with django_capture_on_commit_callbacks() as callbacks:
        token_health.record_check(connection, TokenCheck(Status.VALID, "ok", is_valid=True))
    synced_catalog.refresh_from_db()
    assert synced_catalog.paused_reason == "" and synced_catalog.pause_kind == ""
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_resume_retries_variants_that_failed_for_the_token(connection, synced_catalog, tenant, store):
    variant = VariantFactory(
        product=ProductFactory(tenant=tenant, store=store),
        catalog=synced_catalog,
        meta_status=Variant.SyncStatus.FAILED,
        last_error_code="190",
        failure_source=Variant.FailureSource.INTEGRATION,
    )
    token_health.record_check(connection, TokenCheck(Status.EXPIRED, "expired"))
    token_health.record_check(connection, TokenCheck(Status.VALID, "ok"))
    variant.refresh_from_db()
    assert variant.meta_status == Variant.SyncStatus.PENDING


@pytest.mark.django_db
def test_missing_permission_pauses_as_a_permission_problem(connection, synced_catalog):
    token_health.record_check(connection, TokenCheck(Status.MISSING_PERMISSION, "no catalog_management"))
    synced_catalog.refresh_from_db()
    assert synced_catalog.pause_kind == Catalog.PauseKind.PERMISSION


@pytest.mark.django_db
def test_staff_pause_is_neither_overwritten_nor_lifted(connection, synced_catalog):
    Catalog.objects.filter(pk=synced_catalog.pk).update(paused_reason="Paused by staff", pause_kind="manual")
    token_health.record_check(connection, TokenCheck(Status.EXPIRED, "expired"))
    token_health.record_check(connection, TokenCheck(Status.VALID, "ok"))
    synced_catalog.refresh_from_db()
    assert synced_catalog.paused_reason == "Paused by staff"


@pytest.mark.django_db
def test_other_tenants_catalogs_are_untouched(connection, synced_catalog, other_tenant):
    foreign = CatalogFactory(tenant=other_tenant)
    token_health.record_check(connection, TokenCheck(Status.EXPIRED, "expired"))
    foreign.refresh_from_db()
    assert foreign.paused_reason == ""


@pytest.mark.django_db
def test_summary_warns_days_before_expiry(settings, tenant, connection):
    settings.META_TOKEN_WARNING_DAYS = 7
    MetaConnection.objects.filter(pk=connection.pk).update(
        token_status=Status.VALID, token_expires_at=timezone.now() + timedelta(days=3, hours=1)
    )
    summary = token_health.summary(tenant)
    assert summary["status"] == Status.EXPIRING and summary["level"] == "warning"
    assert summary["days_left"] == 3
    assert summary["url"].startswith(reverse("connection:whatsapp"))


@pytest.mark.django_db
def test_summary_treats_a_passed_expiry_as_expired(tenant, connection):
    MetaConnection.objects.filter(pk=connection.pk).update(
        token_status=Status.VALID, token_expires_at=timezone.now() - timedelta(hours=1)
    )
    assert token_health.summary(tenant)["status"] == Status.EXPIRED


@pytest.mark.django_db
def test_summary_without_connection_says_not_connected(tenant):
    summary = token_health.summary(tenant)
    assert summary["connected"] is False and summary["level"] == "warning"


@pytest.mark.django_db
def test_summary_never_contains_the_token(tenant, connection):
    assert connection.access_token not in repr(token_health.summary(tenant))


@pytest.mark.django_db
def test_recent_good_check_is_reused_before_a_sync(connection):
    MetaConnection.objects.filter(pk=connection.pk).update(token_status=Status.VALID, token_checked_at=timezone.now())
    connection.refresh_from_db()
    # No HTTP here: a fresh verdict is trusted (pytest-socket would refuse a real call to 127.0.0.1:8000).
    assert token_health.check_token(connection, max_age=timedelta(minutes=5)) == Status.VALID
