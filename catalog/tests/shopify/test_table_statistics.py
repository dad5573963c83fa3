"""A large import refreshes PostgreSQL's planner statistics at growing thresholds."""

import pytest
from django.db import connection

from catalog.shopify.table_statistics import GrowthAnalyzer
from catalog.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def _estimated_variants() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'catalog_variant'")
        return cursor.fetchone()[0]


def test_thresholds_grow_fourfold_after_each_refresh():
    analyzer = GrowthAnalyzer(first_at=100)
    assert analyzer.created_rows(60) is False
    refreshed = analyzer.created_rows(60)
    assert refreshed is (connection.vendor == "postgresql")
    assert analyzer.next_at == 480
    assert analyzer.created_rows(300) is False


def test_zero_turns_it_off():
    analyzer = GrowthAnalyzer(first_at=0)
    assert analyzer.created_rows(10**7) is False
    assert analyzer.analyzed == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_the_variant_table_statistics_count_the_imported_rows():
    VariantFactory.create_batch(7)
    GrowthAnalyzer(first_at=5).created_rows(7)
    assert _estimated_variants() == 7
