"""Variant counts maintained by the database: equal to a COUNT after every kind of write."""

from __future__ import annotations

import logging
import threading

import pytest
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import item_state, state_counts
from catalog.models import Catalog, Product, Variant, VariantStateCount
from catalog.tests.factories import CatalogFactory, ProductFactory, VariantFactory

Status = Variant.SyncStatus
Verdict = Variant.Verdict


def maintained(catalog: Catalog) -> dict:
    return VariantStateCount.objects.health_counts([catalog.pk])


def counted(catalog: Catalog) -> dict:
    return Variant.objects.filter(catalog=catalog).health_counts()


@pytest.fixture
def catalog(db):
    return CatalogFactory()


@pytest.fixture
def variants(catalog):
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    return [VariantFactory(product=product, catalog=catalog) for _ in range(4)]


def test_new_variants_are_counted_as_pending(catalog, variants):
    assert maintained(catalog)["pending"] == 4
    assert maintained(catalog) == counted(catalog)


def test_a_queryset_update_moves_the_counts(catalog, variants):
    Variant.objects.filter(pk__in=[v.pk for v in variants[:3]]).update(meta_status=Status.SYNCED, verdict=Verdict.LIVE)
    Variant.objects.filter(pk=variants[2].pk).update(verdict=Verdict.REJECTED)

    counts = maintained(catalog)
    assert (counts["pending"], counts["synced"]) == (1, 3)
    assert counts["verdict"] == {"live": 2, "not_visible": 1, "in_review": 0, "rejected": 1}
    assert counts == counted(catalog)


def test_bulk_update_and_the_item_state_writer_are_counted(catalog, variants):
    for v in variants[:2]:
        v.meta_status, v.excluded = Status.FAILED, True
    Variant.objects.bulk_update(variants[:2], ["meta_status", "excluded"])
    assert maintained(catalog)["excluded"] == 2

    Variant.objects.filter(pk=variants[2].pk).update(
        meta_status=Status.FAILED, failure_source=Variant.FailureSource.META_BATCH
    )
    assert item_state.retry_meta_failures(Variant.objects.filter(catalog=catalog)) == 1

    assert maintained(catalog) == counted(catalog)


def test_an_update_of_other_columns_leaves_no_rows_behind(catalog, variants):
    before = VariantStateCount.objects.count()
    Variant.objects.filter(catalog=catalog).update(price="5.00", last_error="")
    assert VariantStateCount.objects.count() == before


def test_deleting_variants_and_their_product_is_counted(catalog, variants):
    variants[0].delete()
    assert maintained(catalog)["pending"] == 3
    Product.objects.filter(pk=variants[1].product_id).delete()  # the cascade deletes the rest
    assert maintained(catalog) == counted(catalog) == state_counts_empty()


def test_moving_variants_to_another_catalog_moves_their_counts(catalog, variants):
    other = CatalogFactory(tenant=catalog.tenant, connection=catalog.connection)
    Variant.objects.filter(pk__in=[variants[0].pk, variants[1].pk]).update(catalog=other)
    Variant.objects.filter(pk=variants[2].pk).update(catalog=None)  # not in any catalog: not counted

    assert maintained(catalog)["pending"] == 1
    assert maintained(other)["pending"] == 2


def test_a_deleted_catalog_leaves_nothing_counted(catalog, variants):
    catalog.delete()  # its variants' catalog becomes NULL

    assert maintained(catalog) == state_counts_empty()
    state_counts.reconcile()
    assert not VariantStateCount.objects.filter(catalog_id=catalog.pk).exists()


def test_variants_in_no_catalog_count_in_their_tenants_total(catalog, variants):
    Variant.objects.filter(pk=variants[0].pk).update(catalog=None)

    assert maintained(catalog)["pending"] == 3
    assert VariantStateCount.objects.total([catalog.tenant_id]) == 4
    assert VariantStateCount.objects.total([catalog.tenant_id], catalog_id=0) == 1
    assert VariantStateCount.objects.total([CatalogFactory().tenant_id]) == 0


def test_the_tenant_filter_counts_nothing_of_another_tenants_catalog(catalog, variants):
    other_tenants = CatalogFactory()
    assert VariantStateCount.objects.health_counts([catalog.pk], tenant_id=other_tenants.tenant_id)["pending"] == 0
    assert VariantStateCount.objects.health_counts([catalog.pk], tenant_id=catalog.tenant_id)["pending"] == 4


def test_reconcile_corrects_a_drift_and_says_so(catalog, variants, caplog):
    VariantStateCount.objects.filter(catalog_id=catalog.pk).delete()  # as after a TRUNCATE or a restore
    assert maintained(catalog)["pending"] == 0

    with caplog.at_level(logging.WARNING, logger="catalog.state_counts"):
        found = state_counts.reconcile()

    assert [(d.catalog_id, d.meta_status, d.counted, d.maintained) for d in found] == [(catalog.pk, "PENDING", 4, 0)]
    assert "State counts corrected" in caplog.text
    assert maintained(catalog) == counted(catalog)
    assert state_counts.reconcile() == []


def test_reconcile_finds_nothing_when_the_triggers_kept_up(catalog, variants):
    Variant.objects.filter(pk=variants[0].pk).update(meta_status=Status.SYNCED, verdict=Verdict.LIVE)
    variants[1].delete()
    assert state_counts.differences() == []


def state_counts_empty() -> dict:
    from catalog.models.counts import empty_health_counts

    return empty_health_counts()


# --- Any sequence of writes ----------------------------------------------------------------

STATES = st.tuples(
    st.sampled_from(Status.values),
    st.booleans(),
    st.sampled_from(["", *Verdict.values]),
)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 2), STATES),
        st.tuples(st.just("update"), st.integers(0, 20), STATES),
        st.tuples(st.just("bulk_update"), st.integers(0, 20), STATES),
        st.tuples(st.just("move"), st.integers(0, 20), st.integers(-1, 2)),
        st.tuples(st.just("delete"), st.integers(0, 20), st.none()),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_any_sequence_of_writes_keeps_the_counts_equal_to_a_count(db, operations):
    # The invariant holds whatever earlier examples left in the database.
    catalogs = list(Catalog.objects.order_by("pk")[:3])
    while len(catalogs) < 3:
        catalogs.append(CatalogFactory())
    product = Product.objects.filter(tenant=catalogs[0].tenant).first() or ProductFactory(
        tenant=catalogs[0].tenant, store=catalogs[0].store
    )
    for op, target, arg in operations:
        ids = list(Variant.objects.order_by("pk").values_list("pk", flat=True))
        chosen = ids[target % len(ids) :][:3] if ids else []
        if op == "create":
            status, excluded, verdict = arg
            VariantFactory(
                product=product, catalog=catalogs[target], meta_status=status, excluded=excluded, verdict=verdict
            )
        elif op == "update":
            status, excluded, verdict = arg
            Variant.objects.filter(pk__in=chosen).update(meta_status=status, excluded=excluded, verdict=verdict)
        elif op == "bulk_update":
            rows = list(Variant.objects.filter(pk__in=chosen))
            for row in rows:
                row.meta_status, row.excluded, row.verdict = arg
            Variant.objects.bulk_update(rows, ["meta_status", "excluded", "verdict"])
        elif op == "move":
            Variant.objects.filter(pk__in=chosen).update(catalog=catalogs[arg] if arg >= 0 else None)
        else:
            Variant.objects.filter(pk__in=chosen).delete()

    assert state_counts.differences() == []
    for c in catalogs:
        assert maintained(c) == counted(c)


# --- PostgreSQL: concurrent writers never wait on a counter row ----------------------------

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="per-backend slots are PostgreSQL's")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_transactions_changing_one_state_do_not_wait_for_each_other():
    catalog = CatalogFactory()
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    first, second = VariantFactory(product=product, catalog=catalog), VariantFactory(product=product, catalog=catalog)
    holding, release, errors = threading.Event(), threading.Event(), []

    def hold_a_transaction_open():
        try:
            with transaction.atomic():
                Variant.objects.filter(pk=first.pk).update(meta_status=Status.SYNCED)
                holding.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold_a_transaction_open)
    thread.start()
    try:
        assert holding.wait(10)
        with transaction.atomic(), connection.cursor() as cursor:
            # Waiting for the other transaction's counter row would fail here, not hang.
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            Variant.objects.filter(pk=second.pk).update(meta_status=Status.SYNCED)
        # A fold meanwhile skips the row the open transaction holds.
        state_counts.fold()
        assert maintained(catalog)["synced"] == 1
    finally:
        release.set()
        thread.join(10)
    assert errors == []

    assert maintained(catalog)["synced"] == 2
    assert VariantStateCount.objects.exclude(slot=0).exists()
    state_counts.fold()
    assert not VariantStateCount.objects.exclude(slot=0).exists()
    assert maintained(catalog) == counted(catalog)


@pytest.mark.django_db(transaction=True)
def test_the_triggers_survive_a_migration_that_rebuilds_the_variant_table():
    # SQLite rebuilds a table to alter it, dropping its triggers: migrate puts them back.
    from django.core.management import call_command

    catalog = CatalogFactory()
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    variants = VariantFactory.create_batch(2, product=product, catalog=catalog)

    with connection.schema_editor() as editor:
        field = Variant._meta.get_field("failed_hash")
        editor.remove_field(Variant, field)
        editor.add_field(Variant, field)
    call_command("migrate", verbosity=0)

    Variant.objects.filter(pk=variants[0].pk).update(meta_status=Status.SYNCED)
    assert maintained(catalog) == counted(catalog)
