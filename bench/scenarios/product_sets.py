"""``product_sets``: a Shopify collection's update reaching its Meta product set.

The collection has ``N × 5%`` products (50,000 at 1,000,000 variants, issue 21's figure;
at most every product of the catalog). Prepared (not measured): the catalog sent by its
replace feed over HTTP (Meta, the sandbox, holds the items the set names), the
collection stored with its first members and its product set created in Meta by the
real sync. Measured: a ``collections/update`` as the webhook handler applies it once it
has read the members from Shopify: 1% of the members leave, as many new products join
(``catalog.shopify.collections.upsert_collection`` with the new member list: membership
and the stored filter), then the product-set sync (``catalog.sync.product_sets.
sync_product_sets``: the plan from the members Meta holds, one POST of the set's filter,
then Meta's ``product_count`` read back). Wall time, Graph calls, our CPU, each phase; the
set's item count against the count Meta reports for it (``meta_product_count``).
Not measured: reading the collection's members from Shopify (the seeded catalog has no
sandbox shop; at 50,000 products that is 200 pages of 250 ids on Shopify's side).

Baseline: what a plugin writes: per member product one ORM read of the product and one of
its variants, then one POST of a set naming their retailer ids; measured on
``--baseline-items`` products, extrapolated to the collection. ``speedup``: member
products per second.
"""

from __future__ import annotations

import json
import time

from ..report import Target
from ..seed import connect_meta
from .common import bench_catalog, rate_speedup, sql_per_5000  # noqa: F401
from .sync_common import send_by_replace_feed
from .wave2 import Clock

SEED_KIND = "catalog"
SCALES_WITH_CATALOG = False  # the collection's size is given (N × 5%), not the catalog's
COLLECTION_SHARE = 50_000 / 1_000_000  # products per variant of the catalog
CHANGED_SHARE = 0.01  # members that leave (and as many that join) in the measured update
COLLECTION_ID = 9_100_000_001
TARGETS: list[Target] = []  # issue 21 sets none: measured, with the naive ratio
speedup = rate_speedup


def baseline_total(ctx, run: dict) -> int:
    return run["items"]


def collection_size(variants: int) -> int:
    return max(1, round(variants * COLLECTION_SHARE))


def record():
    from catalog.shopify.records import CollectionRecord

    return CollectionRecord(
        shopify_collection_id=COLLECTION_ID,
        title="Bench collection",
        handle="bench-collection",
        description_html="<p>Every product of the bench collection.</p>",
        image_url=None,
    )


def members(catalog, size: int) -> tuple[list[int], list[int]]:
    """Shopify product ids: the collection before and after the measured update."""
    from catalog.models import Product

    changed = max(1, round(size * CHANGED_SHARE)) if size > 1 else 0
    ids = list(
        Product.objects.filter(store=catalog.store)
        .order_by("pk")
        .values_list("shopify_product_id", flat=True)[: size + changed]
    )
    size = min(size, max(len(ids) - changed, 1))
    return ids[:size], ids[changed : size + changed]


def prepare(ctx) -> dict:
    connect_meta()
    return {}


def prepare_served(ctx) -> dict:
    """Meta holds the items; the collection and its set exist in Meta (created by the real sync)."""
    from catalog.shopify import collections
    from catalog.sync import product_sets

    catalog = bench_catalog()
    send_by_replace_feed(catalog)
    before, _after = members(catalog, collection_size(ctx.variants))
    product_set = collections.upsert_collection(catalog.store, record(), before)
    report = product_sets.sync_product_sets(catalog, wait_for_items=False)
    if report.created != [product_set.pk]:
        raise RuntimeError(f"the product set was not created in Meta: {report.as_dict()}")
    return {"extra": {"product_set": product_set.pk}}


def run(ctx) -> dict:
    from catalog.models import ProductSet
    from catalog.shopify import collections
    from catalog.sync import product_sets

    from ..measure import HttpCounter

    catalog = bench_catalog()
    before, after = members(catalog, collection_size(ctx.variants))
    with Clock() as membership:
        product_set = collections.upsert_collection(catalog.store, record(), after)
    with Clock() as sync, HttpCounter() as calls:
        report = product_sets.sync_product_sets(catalog, wait_for_items=False)
    if report.updated != [product_set.pk]:
        raise RuntimeError(f"the product set was not updated in Meta: {report.as_dict()}")
    product_set = ProductSet.objects.get(pk=product_set.pk)
    filter_kind, values = next(iter(product_set_filter(product_set, catalog).items()))
    return {
        "items": len(after),  # member products of the updated collection
        "loop_seconds": round(membership.wall + sync.wall, 3),
        "collection_products": len(after),
        "members_changed": len(set(after) ^ set(before)),
        "item_count": product_set.item_count,
        "meta_product_count": product_set.meta_product_count,
        "filter_by": filter_kind,
        "filter_values": values,
        "membership_wall_seconds": round(membership.wall, 3),
        "membership_cpu_seconds": round(membership.cpu, 3),
        "set_sync_wall_seconds": round(sync.wall, 3),
        "set_sync_cpu_seconds": round(sync.cpu, 3),
        "our_cpu_seconds": round(membership.cpu + sync.cpu, 3),
        "graph_calls": calls.count,
        "sync_report": {k: v for k, v in report.as_dict().items() if v},
    }


def product_set_filter(product_set, catalog) -> dict:
    """What the set's filter names in Meta: ``{kind: number of values}``."""
    from catalog.sync import product_sets

    wanted = product_sets.plan(product_set, catalog).params.get("filter") or {}
    return {key: len(next(iter(rule.values()))) for key, rule in wanted.items()} or {"none": 0}


def baseline(ctx) -> dict:
    """Per member product: read it and its variants; then one POST of a set naming them."""
    from catalog.graph_clients import client_for
    from catalog.models import Product, Variant

    catalog = bench_catalog()
    client = client_for(catalog)
    _before, after = members(catalog, collection_size(ctx.variants))
    product_ids = after[: ctx.baseline_items]
    started = time.perf_counter()
    retailer_ids = []
    for shopify_id in product_ids:
        product = Product.objects.get(store=catalog.store, shopify_product_id=shopify_id)
        for variant in Variant.objects.filter(product=product, meta_status=Variant.SyncStatus.SYNCED):
            retailer_ids.append(variant.retailer_id)
    client.post(
        f"{catalog.meta_catalog_id}/product_sets",
        {"name": "Naive plugin set", "filter": json.dumps({"retailer_id": {"is_any": retailer_ids}})},
    )
    return {"items": len(product_ids), "loop_seconds": round(time.perf_counter() - started, 3)}
