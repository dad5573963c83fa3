"""An ungrouped bulk export, end to end over real HTTP: loaded into the Shopify sandbox with
``sandbox_account --shopify-jsonl``, then imported with ``shopify_import --bulk``.

Shopify's default output (``groupObjects: false``) puts each child line anywhere after its
parent's line; `sandbox.shopify.tests.bulk_files` writes files that way.
"""

from __future__ import annotations

import json
from functools import partial
from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import ImportRun, Product, ShopifyStore, Variant
from catalog.shopify import importer
from catalog.shopify.bulk import group_products
from catalog.tests.factories import CatalogFactory
from sandbox.shopify.tests import bulk_files

from .conftest import connect

pytestmark = pytest.mark.django_db(transaction=True)


def _load_and_connect(tenant, tmp_path, objects: list[dict]) -> ShopifyStore:
    """The file loaded into a new sandbox shop by the operator command, connected to `tenant`."""
    out = StringIO()
    path = bulk_files.write(tmp_path / "export.jsonl", objects)
    call_command("sandbox_account", "--shopify-jsonl", str(path), "--json", stdout=out, stderr=StringIO())
    account = json.loads(out.getvalue())
    assert account["loaded"]["orphans"] == 0
    connect(tenant, account["shopify"], tmp_path)
    store = ShopifyStore.objects.get(shop_domain=account["shopify"]["shop_domain"])
    CatalogFactory(tenant=tenant, store=store, name="Sandbox catalog")
    return store


def _imported() -> dict[int, set[int]]:
    out: dict[int, set[int]] = {p: set() for p in Product.objects.values_list("shopify_product_id", flat=True)}
    for product_id, variant_id in Variant.objects.values_list("product__shopify_product_id", "shopify_variant_id"):
        out[product_id].add(variant_id)
    return out


def _import(tenant) -> ImportRun:
    call_command("shopify_import", tenant=tenant.slug, bulk=True, stdout=StringIO())
    return ImportRun.objects.latest("pk")


def test_every_variant_of_an_ungrouped_export_is_imported(live_server, settings, fast_sandbox, tenant, tmp_path):
    settings.SITE_URL = live_server.url
    objects = bulk_files.generated_objects(400, seed=11)
    expected = bulk_files.variants_by_product(objects)

    _load_and_connect(tenant, tmp_path, bulk_files.ungroup(objects, seed=2))
    run = _import(tenant)

    assert run.state == ImportRun.State.SUCCEEDED and run.mode == ImportRun.Mode.BULK
    assert run.variants_seen == Variant.objects.count() == 400
    assert _imported() == expected


@pytest.fixture
def served_far_apart(live_server, settings, fast_sandbox, tenant, tmp_path, monkeypatch):
    """A sandbox shop loaded from an ungrouped file whose bulk result the sandbox serves with
    every child line after every product line (the extreme ungrouped order). Returns the
    file's {product id: {variant ids}} and the sizes of the results served that way."""
    from sandbox.shopify import bulk as sandbox_bulk

    settings.SITE_URL = live_server.url
    objects = bulk_files.generated_objects(400, seed=12)
    _load_and_connect(tenant, tmp_path, bulk_files.ungroup(objects, seed=3))
    write_slice = sandbox_bulk._write_slice
    served: list[int] = []

    def write_ungrouped(op, budget):
        write_slice(op, budget)
        op.refresh_from_db()
        path = sandbox_bulk.result_path(op)
        if op.status == op.Status.COMPLETED and "variants" in op.query and path.exists():
            lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            bulk_files.write(path, bulk_files.far_apart(lines))
            served.append(len(lines))

    monkeypatch.setattr(sandbox_bulk, "_write_slice", write_ungrouped)
    # A small window of open products: most variants arrive after theirs left it (as orphans).
    monkeypatch.setattr(importer, "group_products", partial(group_products, window=5))
    return bulk_files.variants_by_product(objects), served, len(objects)


def test_the_importer_joins_a_served_ungrouped_result_far_beyond_its_window(served_far_apart, tenant):
    expected, served, lines = served_far_apart
    run = _import(tenant)

    assert served == [lines]  # the products query's result, reordered
    assert run.state == ImportRun.State.SUCCEEDED
    assert run.variants_seen == Variant.objects.count() == 400
    assert _imported() == expected


def test_orphans_are_not_flushed_before_the_batch_holding_their_products(served_far_apart, tenant, monkeypatch):
    expected, _, _ = served_far_apart
    monkeypatch.setattr(importer, "BATCH_VARIANTS", 20)  # stands in for 5,000 orphans of < 250 products
    run = _import(tenant)

    assert run.variants_seen == Variant.objects.count() == 400
    assert _imported() == expected
