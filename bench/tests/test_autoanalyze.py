"""The bench's stand-in for autovacuum's ANALYZE (the machines' PostgreSQL runs without it)."""

import time

import psycopg
import pytest
from django.db import connection
from psycopg.conninfo import make_conninfo

from bench.autoanalyze import AutoAnalyze


def _conninfo() -> str:
    s = connection.settings_dict
    return make_conninfo(
        dbname=s["NAME"],
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
    )


def _last_analyzed(table: str):
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's autovacuum")
@pytest.mark.django_db(transaction=True)
def test_a_table_that_grew_past_the_threshold_is_analysed_when_autovacuum_is_off():
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
        cursor.execute("CREATE TABLE bench_grows (n int)")
        cursor.execute("ANALYZE bench_grows")
    try:
        analysed_empty = _last_analyzed("bench_grows")
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_grows SELECT generate_series(1, 5000)")
        with AutoAnalyze(_conninfo(), naptime=0.2) as analyzer:
            deadline = time.monotonic() + 15
            # Other tables of the test database may be due too: wait for this one.
            while analyzer.active and _last_analyzed("bench_grows") == analysed_empty and time.monotonic() < deadline:
                time.sleep(0.2)
        if autovacuum == "on":
            assert not analyzer.active and analyzer.summary()["emulated"] is False
            return
        assert analyzer.active and analyzer.analyzes >= 1
        assert _last_analyzed("bench_grows") > analysed_empty
        with psycopg.connect(_conninfo(), autocommit=True) as conn:
            (rows,) = conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'bench_grows'").fetchone()
        assert rows == 5000
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_grows")


def test_does_nothing_without_postgresql():
    with AutoAnalyze(None) as analyzer:
        pass
    assert analyzer.summary() == {"emulated": False, "note": "not PostgreSQL", "analyzes": 0, "seconds": 0.0}
