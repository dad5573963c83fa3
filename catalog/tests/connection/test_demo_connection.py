"""The demo connects its store to a sandbox Meta business through manage.py connect_catalog."""

import pytest

from catalog import demo
from catalog.connection import catalogs
from catalog.connection.demo import connect_demo_catalog
from catalog.models import Catalog, MetaConnection
from sandbox.models import Business

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_store_gets_an_imported_synced_catalog_with_pixel_and_checkout(meta, settings):
    result = demo.run_demo(products=3)
    catalog = connect_demo_catalog(result.tenant, result.store)
    assert Catalog.objects.filter(tenant=result.tenant).count() == 1  # the placeholder became the real one
    assert catalog.meta_catalog_id and catalog.flow == Catalog.Flow.IMPORT and catalog.sync_enabled
    assert MetaConnection.objects.get(tenant=result.tenant).token_status == "valid"
    assert [check.ok for check in catalogs.checks_for(catalog)] == [True, True]
    assert not catalog.variants.filter(catalog__isnull=True).exists()


def test_connecting_the_demo_twice_changes_nothing(meta):
    result = demo.run_demo(products=2)
    first = connect_demo_catalog(result.tenant, result.store)
    businesses = Business.objects.count()
    assert connect_demo_catalog(result.tenant, result.store).pk == first.pk
    assert Business.objects.count() == businesses
