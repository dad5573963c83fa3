"""Issues from our own sync state: local validation, Meta's batch rejections, sync pauses, snapshots."""

import pytest
from django.utils import timezone

from catalog.meta.errors import AuthError, PermissionDenied, RateLimited, TransientError
from catalog.models import Catalog, MetaConnection, Variant
from catalog.sync.results import META_REJECTED
from diagnostics import error_catalog as ec
from diagnostics.failures import sync_failure_issues
from diagnostics.harvest import harvest_sync_results
from diagnostics.integration import (
    classify_graph_error,
    clear_integration_errors,
    mirror_sync_pause,
    record_integration_error,
)
from diagnostics.models import CatalogIssue, HealthSnapshot, ItemIssue
from diagnostics.snapshots import take_all_snapshots
from diagnostics.tests.factories import ItemIssueFactory

pytestmark = pytest.mark.django_db


def test_local_validation_failure_becomes_a_local_issue(catalog, make_variants):
    (v,) = make_variants(1, "FAILED", price=0)
    sync_failure_issues(catalog)
    issue = ItemIssue.objects.open().get()
    assert issue.source == ItemIssue.Source.LOCAL_VALIDATION
    assert issue.error_type.code == "LOCAL_ITEM_PRICE_NOT_POSITIVE"
    assert issue.variant == v


def test_meta_rejection_becomes_a_batch_issue_with_metas_message(catalog, make_variants):
    message = "A required field is missing: Products need to have availability listed."
    make_variants(1, "FAILED", last_error=message, last_error_code=META_REJECTED)
    sync_failure_issues(catalog)
    issue = ItemIssue.objects.open().get()
    assert (issue.source, issue.error_type.code, issue.message) == (
        ItemIssue.Source.BATCH, "PROPERTY_VALUE_MISSING", message)


def test_issues_resolve_once_the_variant_is_no_longer_failed(catalog, make_variants):
    (v,) = make_variants(1, "FAILED", last_error="Rejected", last_error_code=META_REJECTED)
    sync_failure_issues(catalog)
    Variant.objects.filter(pk=v.pk).update(meta_status="SYNCED", last_error="")
    counts = sync_failure_issues(catalog)
    assert counts.resolved == 1
    assert not ItemIssue.objects.open().exists()


def test_diagnostics_issues_survive_the_failure_sweep(catalog, make_variants):
    (v,) = make_variants(1, "SYNCED")
    ItemIssueFactory(variant=v, catalog=catalog)
    sync_failure_issues(catalog)
    assert ItemIssue.objects.open().count() == 1


def test_harvest_keeps_one_run_row_while_nothing_changes(catalog):
    first = harvest_sync_results(catalog)
    second = harvest_sync_results(catalog)
    assert first.pk == second.pk and second.watermark >= first.started_at


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (AuthError("expired", code=190, subcode=463), ec.TOKEN_EXPIRED),
        (AuthError("logged out", code=190, subcode=467), ec.TOKEN_REVOKED),
        (AuthError("bad", code=190), ec.TOKEN_INVALID),
        (PermissionDenied("no", code=200), ec.PERMISSION_DENIED),
        (RateLimited("slow down", code=80014, retry_after=60), ec.RATE_LIMITED),
        (TransientError("down", http_status=503), ec.META_OUTAGE),
        (TransientError("Could not reach the Graph API (ConnectionError)"), ec.META_OUTAGE),
    ],
)
def test_graph_errors_are_classified(error, code):
    assert classify_graph_error(error) == code


def test_integration_error_is_recorded_and_cleared_by_success(catalog):
    record_integration_error(catalog, AuthError("Error validating access token", code=190, subcode=460),
                             operation="diagnostics")
    issue = CatalogIssue.objects.open().get()
    assert issue.error_type.code == ec.TOKEN_REVOKED and issue.details["code"] == 190
    record_integration_error(catalog, AuthError("again", code=190, subcode=460), operation="diagnostics")
    assert CatalogIssue.objects.open().count() == 1  # refreshed, not duplicated
    assert clear_integration_errors(catalog, operation="diagnostics") == 1


def test_rate_limit_records_retry_after(catalog):
    record_integration_error(catalog, RateLimited("slow", code=80009, retry_after=120), operation="diagnostics")
    assert CatalogIssue.objects.open().get().details["retry_after"] == 120


def test_sync_pause_is_mirrored_as_a_catalog_issue(catalog):
    MetaConnection.objects.filter(pk=catalog.connection_id).update(token_status=MetaConnection.TokenStatus.EXPIRED)
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.AUTH, paused_reason="Token expired")
    catalog.refresh_from_db()
    issue = mirror_sync_pause(catalog)
    assert issue.error_type.code == ec.TOKEN_EXPIRED and issue.message == "Token expired"
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind="", paused_reason="")
    catalog.refresh_from_db()
    assert mirror_sync_pause(catalog) is None
    assert not CatalogIssue.objects.open().exists()


def test_snapshots_record_counts_per_catalog(catalog, make_variants):
    make_variants(2, "SYNCED")
    make_variants(1, "FAILED")
    (v,) = make_variants(1, "PENDING")
    ItemIssueFactory(variant=v, catalog=catalog, priority="LOW")
    assert take_all_snapshots(timezone.now()) == 1
    snap = HealthSnapshot.objects.get()
    assert (snap.synced, snap.failed, snap.pending, snap.open_low, snap.total) == (2, 1, 1, 1, 4)
