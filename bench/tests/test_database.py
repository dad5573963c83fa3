"""Bench databases: two runs never share (and so never drop) one PostgreSQL database."""

import os

import pytest
from django.db import connection

from bench.database import BenchDatabase
from bench.environment import PG_SERVER

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL bench database")


def _database(name: str) -> BenchDatabase:
    return BenchDatabase("postgres", f"{PG_SERVER}/{name}", name)


def test_a_second_run_on_the_same_database_stops_before_touching_it():
    name = f"galantis_bench_hold_{os.getpid()}"
    first = _database(name)
    first.hold()
    try:
        with pytest.raises(SystemExit, match=f"another run is using the PostgreSQL database '{name}'"):
            _database(name).hold()
    finally:
        first.release()


def test_runs_on_different_databases_and_one_after_another_go_ahead():
    name = f"galantis_bench_hold_{os.getpid()}"
    first, other = _database(name), _database(f"{name}_2")
    first.hold()
    other.hold()
    first.release()
    again = _database(name)
    again.hold()
    again.release()
    other.release()
