"""Problem counts memoised on a version the database keeps per catalog: never stale, computed once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import Variant
from diagnostics import problem_memo
from diagnostics.models import ItemIssue, ItemIssueVersion, Priority
from diagnostics.tests.factories import ErrorTypeFactory, ItemIssueFactory

URL = reverse("health:index")


@pytest.fixture
def failing(make_variants, catalog):
    """Three failed variants of the catalog, each with an open HIGH issue of one type."""
    error_type = ErrorTypeFactory(code="HIGH_THING", priority=Priority.HIGH)
    variants = make_variants(3, "FAILED")
    for v in variants:
        ItemIssueFactory(variant=v, catalog=catalog, error_type=error_type, priority=Priority.HIGH)
    return variants


def test_every_kind_of_write_moves_the_catalogs_version(catalog, failing):
    seen = [problem_memo.versions([catalog.pk])]
    ItemIssue.objects.filter(variant=failing[0]).update(resolved_at=timezone.now())
    seen.append(problem_memo.versions([catalog.pk]))
    ItemIssue.objects.filter(variant=failing[1]).delete()
    seen.append(problem_memo.versions([catalog.pk]))
    Variant.objects.filter(pk=failing[2].pk).delete()  # its issues go by cascade
    seen.append(problem_memo.versions([catalog.pk]))

    assert len(set(seen)) == 4, seen


def test_a_write_to_another_catalog_leaves_the_version(catalog, failing):
    before = problem_memo.versions([catalog.pk])
    ItemIssueFactory()  # another tenant's catalog
    assert problem_memo.versions([catalog.pk]) == before


def test_the_page_shows_a_new_issue_at_once(merchant_client, catalog, failing, make_variants):
    def high_total():
        return merchant_client.get(URL).context["summary"].priority_totals[Priority.HIGH]

    assert high_total() == 3
    assert high_total() == 3  # served from the memo
    ItemIssueFactory(variant=make_variants(1, "FAILED")[0], catalog=catalog, priority=Priority.HIGH)
    assert high_total() == 4
    ItemIssue.objects.filter(variant=failing[0]).update(resolved_at=timezone.now())
    assert high_total() == 3


def test_a_second_view_does_not_count_the_issues_again(merchant_client, failing):
    merchant_client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        response = merchant_client.get(URL)

    assert response.status_code == 200
    assert not [q for q in queries if "COUNT(DISTINCT" in q["sql"].upper()]


def test_a_memo_is_per_filter(merchant_client, failing):
    assert len(merchant_client.get(URL).context["top_error_rows"]) == 1
    assert merchant_client.get(URL + "?priority=LOW").context["top_error_rows"] == []
    assert len(merchant_client.get(URL).context["top_error_rows"]) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="per-connection slots are PostgreSQL's")
def test_folding_keeps_the_versions(catalog, failing):
    before = problem_memo.versions([catalog.pk])
    assert ItemIssueVersion.objects.exclude(slot=0).exists()

    problem_memo.fold()

    assert not ItemIssueVersion.objects.exclude(slot=0).exists()
    assert problem_memo.versions([catalog.pk]) == before
