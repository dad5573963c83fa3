"""Upserting issues page by page: create, update only what changed, resolve what vanished."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.tests.factories import CatalogFactory, VariantFactory
from diagnostics.issues import IssueWriter, Observation, Scope, SeenVariants
from diagnostics.models import ItemIssue, Priority
from diagnostics.tests.factories import ErrorTypeFactory

pytestmark = pytest.mark.django_db
SOURCE = ItemIssue.Source.DIAGNOSTICS_POLL


@pytest.fixture
def catalog():
    return CatalogFactory()


def variants(catalog, n):
    return VariantFactory.create_batch(n, product__tenant=catalog.tenant, catalog=catalog)


def test_new_observations_open_issues(catalog):
    v1, v2 = variants(catalog, 2)
    et = ErrorTypeFactory()
    counts = IssueWriter(catalog, SOURCE).apply_page(
        {v1.pk: [Observation(v1.pk, et, Priority.HIGH, "bad image")], v2.pk: []}
    )
    assert counts.opened == 1
    issue = ItemIssue.objects.get()
    assert (issue.variant, issue.error_type, issue.priority, issue.message) == (v1, et, "HIGH", "bad image")
    assert issue.first_seen == issue.last_seen and issue.resolved_at is None


def test_unchanged_page_writes_nothing(catalog, django_assert_num_queries):
    (v1,) = variants(catalog, 1)
    et = ErrorTypeFactory()
    page = {v1.pk: [Observation(v1.pk, et, Priority.HIGH, "bad image")]}
    IssueWriter(catalog, SOURCE).apply_page(page)
    with django_assert_num_queries(1):  # the SELECT of open issues, no write
        counts = IssueWriter(catalog, SOURCE).apply_page(page)
    assert (counts.opened, counts.updated, counts.resolved) == (0, 0, 0)


def test_changed_message_updates_and_keeps_first_seen(catalog):
    (v1,) = variants(catalog, 1)
    et = ErrorTypeFactory()
    IssueWriter(catalog, SOURCE, now=timezone.now() - timedelta(hours=2)).apply_page(
        {v1.pk: [Observation(v1.pk, et, Priority.LOW, "old")]}
    )
    counts = IssueWriter(catalog, SOURCE).apply_page({v1.pk: [Observation(v1.pk, et, Priority.HIGH, "new")]})
    issue = ItemIssue.objects.get()
    assert counts.updated == 1
    assert (issue.priority, issue.message) == ("HIGH", "new")
    assert issue.first_seen < issue.last_seen


def test_type_no_longer_reported_for_a_variant_is_resolved(catalog):
    (v1,) = variants(catalog, 1)
    gone, stays = ErrorTypeFactory(), ErrorTypeFactory()
    writer = IssueWriter(catalog, SOURCE)
    writer.apply_page({v1.pk: [Observation(v1.pk, gone, "HIGH"), Observation(v1.pk, stays, "HIGH")]})
    counts = IssueWriter(catalog, SOURCE).apply_page({v1.pk: [Observation(v1.pk, stays, "HIGH")]})
    assert counts.resolved == 1
    assert ItemIssue.objects.open().get().error_type == stays


def test_resolve_unseen_resolves_variants_not_reported_in_the_pass(catalog):
    v1, v2 = variants(catalog, 2)
    et = ErrorTypeFactory()
    IssueWriter(catalog, SOURCE).apply_page(
        {v1.pk: [Observation(v1.pk, et, "HIGH")], v2.pk: [Observation(v2.pk, et, "HIGH")]}
    )
    writer = IssueWriter(catalog, SOURCE)
    scope = Scope(priority=Priority.HIGH)
    writer.apply_page({v1.pk: [Observation(v1.pk, et, "HIGH")]}, scope)
    assert writer.resolve_unseen(scope) == 1
    assert list(ItemIssue.objects.open().values_list("variant_id", flat=True)) == [v1.pk]


def test_resolve_unseen_leaves_other_priorities_alone(catalog):
    (v1,) = variants(catalog, 1)
    et = ErrorTypeFactory()
    IssueWriter(catalog, SOURCE).apply_page({v1.pk: [Observation(v1.pk, et, "LOW")]})
    writer = IssueWriter(catalog, SOURCE)
    assert writer.resolve_unseen(Scope(priority=Priority.HIGH)) == 0
    assert ItemIssue.objects.open().count() == 1


def test_issues_of_other_sources_are_untouched(catalog):
    (v1,) = variants(catalog, 1)
    et = ErrorTypeFactory()
    IssueWriter(catalog, ItemIssue.Source.BATCH).apply_page({v1.pk: [Observation(v1.pk, et, "HIGH")]})
    writer = IssueWriter(catalog, SOURCE)
    writer.apply_page({v1.pk: []})
    writer.resolve_unseen(Scope())
    assert ItemIssue.objects.open().get().source == ItemIssue.Source.BATCH


def test_a_resolved_issue_that_comes_back_is_a_new_issue(catalog):
    (v1,) = variants(catalog, 1)
    et = ErrorTypeFactory()
    IssueWriter(catalog, SOURCE).apply_page({v1.pk: [Observation(v1.pk, et, "HIGH")]})
    IssueWriter(catalog, SOURCE).apply_page({v1.pk: []})
    IssueWriter(catalog, SOURCE).apply_page({v1.pk: [Observation(v1.pk, et, "HIGH")]})
    assert ItemIssue.objects.count() == 2
    assert ItemIssue.objects.open().count() == 1


def test_page_query_count_is_flat(catalog, django_assert_num_queries):
    """A page costs the same number of statements whatever its size."""
    et = ErrorTypeFactory()
    for size in (2, 40):
        vs = variants(catalog, size)
        # SELECT open issues, then one bulk INSERT inside a savepoint (SAVEPOINT, INSERT, RELEASE),
        # and the variants' timeline: one INSERT ... SELECT of the opened issues (issue 19).
        with django_assert_num_queries(5):
            IssueWriter(catalog, SOURCE).apply_page({v.pk: [Observation(v.pk, et, "HIGH")] for v in vs})


def test_seen_variants_membership():
    seen = SeenVariants()
    for n in (5, 3, 9, 3):
        seen.add(n)
    assert 3 in seen and 9 in seen and 4 not in seen
