"""Issues from our own sync state: local validation, Meta's batch rejections, sync pauses, snapshots."""

import pytest
from django.utils import timezone

from catalog import item_state
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
    (v,) = make_variants(1, "PENDING", price=0)
    item_state.refresh_variants(Variant.objects.filter(pk=v.pk))  # the one writer fails it, with our fix
    v.refresh_from_db()
    assert (v.meta_status, v.failure_source) == ("FAILED", "LOCAL")
    sync_failure_issues(catalog)
    issue = ItemIssue.objects.open().get()
    assert issue.source == ItemIssue.Source.LOCAL_VALIDATION
    assert issue.error_type.code == "LOCAL_ITEM_PRICE_NOT_POSITIVE"
    assert issue.variant == v and issue.message == v.last_error


def test_local_issues_come_from_the_stored_failure_not_a_rerun_of_the_checks(catalog, make_variants):
    """A variant FAILED locally gets exactly the problems item_state stored, one issue per code."""
    (v,) = make_variants(
        1,
        "FAILED",
        failure_source="LOCAL",
        last_error_code="EMPTY_TITLE,EMPTY_BRAND",
        last_error="The product has no title. The product has no brand.",
        last_error_fix="Give the product a title in Shopify. Set the product's vendor in Shopify.",
    )
    sync_failure_issues(catalog)
    codes = set(ItemIssue.objects.open().values_list("error_type__code", flat=True))
    assert codes == {"LOCAL_EMPTY_TITLE", "LOCAL_EMPTY_BRAND"}  # the price (valid) is not re-checked


def test_excluded_variants_never_have_issues(catalog, make_variants):
    (failed,) = make_variants(1, "FAILED", failure_source="META_BATCH", last_error="Rejected", excluded=True)
    (synced,) = make_variants(1, "SYNCED", excluded=True)
    ItemIssueFactory(variant=synced, catalog=catalog)  # Meta reports on an item kept hidden
    harvest_sync_results(catalog)
    assert not ItemIssue.objects.open().exists()
    assert not ItemIssue.objects.filter(variant=failed).exists()


def test_meta_and_local_failures_go_to_their_own_source(catalog, make_variants):
    (local,) = make_variants(
        1, "FAILED", failure_source="LOCAL", last_error_code="EMPTY_IMAGE_URL", last_error="The product has no image."
    )
    (meta,) = make_variants(
        1, "FAILED", failure_source="META_BATCH", last_error="Invalid image URL", last_error_code=META_REJECTED
    )
    sync_failure_issues(catalog)
    sources = dict(ItemIssue.objects.open().values_list("variant_id", "source"))
    assert sources == {local.pk: ItemIssue.Source.LOCAL_VALIDATION, meta.pk: ItemIssue.Source.BATCH}
    # Meta's later verdict on the same variant moves its issue to the other source.
    Variant.objects.filter(pk=local.pk).update(failure_source="META_BATCH", last_error="Meta: no image")
    sync_failure_issues(catalog)
    assert ItemIssue.objects.open().get(variant=local).source == ItemIssue.Source.BATCH


def test_meta_rejection_becomes_a_batch_issue_with_metas_message(catalog, make_variants):
    message = "A required field is missing: Products need to have availability listed."
    make_variants(1, "FAILED", last_error=message, last_error_code=META_REJECTED)
    sync_failure_issues(catalog)
    issue = ItemIssue.objects.open().get()
    assert (issue.source, issue.error_type.code, issue.message) == (
        ItemIssue.Source.BATCH,
        "PROPERTY_VALUE_MISSING",
        message,
    )


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
    record_integration_error(
        catalog, AuthError("Error validating access token", code=190, subcode=460), operation="diagnostics"
    )
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


def test_snapshots_hold_the_health_counts(catalog, make_variants):
    make_variants(2, "SYNCED", verdict="LIVE")
    make_variants(1, "SYNCED", verdict="REJECTED")
    make_variants(1, "SYNCED", verdict="NOT_VISIBLE")
    make_variants(3, "SYNCED", verdict="")  # not read yet: in review
    make_variants(2, "PENDING", excluded=True)  # an archived product's variants: not sent, not pending
    take_all_snapshots(timezone.now())
    snap = HealthSnapshot.objects.get()
    counts = Variant.objects.filter(catalog=catalog).health_counts()
    assert (
        (snap.pending, snap.synced, snap.failed, snap.excluded)
        == (counts["pending"], counts["synced"], counts["failed"], counts["excluded"])
        == (0, 7, 0, 2)
    )
    assert (snap.live, snap.not_visible, snap.rejected, snap.in_review) == (2, 2, 1, 3)


def test_a_finished_sync_takes_a_snapshot_at_the_next_harvest(catalog, make_variants):
    from catalog.models import SyncBatch

    make_variants(2, "SYNCED", verdict="LIVE")
    harvest_sync_results(catalog)
    assert not HealthSnapshot.objects.exists()  # nothing was synced
    SyncBatch.objects.create(
        tenant=catalog.tenant,
        catalog=catalog,
        kind=SyncBatch.Kind.ITEMS_BATCH,
        state=SyncBatch.State.FINISHED,
        item_count=2,
        finished_at=timezone.now(),
    )
    harvest_sync_results(catalog)
    assert HealthSnapshot.objects.get().live == 2
    harvest_sync_results(catalog)  # no new sync: no new snapshot
    assert HealthSnapshot.objects.count() == 1


@pytest.mark.parametrize("size", [3, 30])
def test_failure_issues_cost_does_not_grow_with_failures(catalog, make_variants, size, django_assert_num_queries):
    make_variants(
        size,
        "FAILED",
        failure_source="LOCAL",
        last_error_code="EMPTY_IMAGE_URL",
        last_error="The product has no image.",
    )
    make_variants(
        size, "FAILED", failure_source="META_BATCH", last_error="Invalid availability.", last_error_code=META_REJECTED
    )
    sync_failure_issues(catalog)  # opens them all
    # resolve (two sources), error types, the FAILED chunk, the end of the walk, then per source
    # the open issues of the chunk's variants: nothing to write the second time
    with django_assert_num_queries(7):
        sync_failure_issues(catalog)
