"""``import``: a bulk-operation JSONL import of N variants from the sandbox Shopify shop.

The real importer (``catalog.shopify.importer.import_store(store, bulk=True)``, what
``shopify_import --bulk`` runs): start the bulk query over HTTP, poll it while the sandbox
writes the JSONL, stream the file and upsert products and variants in bulk, computing
their Meta payloads. The baseline: one ORM read and one write per product and variant line.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

from ..report import Target
from ..seed import point_store_at_server
from .common import bench_catalog, rate_speedup, sql_per_5000  # noqa: F401

SCALES_WITH_CATALOG = True  # wall time grows with N: projected to 1,000,000
SEED_KIND = "shop"
TARGETS = [
    Target(
        "import_items_per_second",
        ">=",
        10000,
        note="variants per second once the bulk file is ready (Shopify writes it on its own servers)",
    ),
]
speedup = rate_speedup


def baseline_total(ctx, run: dict) -> int:
    return run["items"]


def prepare(ctx) -> dict:
    point_store_at_server(ctx.site_url)
    return {}


def run(ctx) -> dict:
    import sys

    from catalog.shopify.importer import import_store

    store = bench_catalog().store
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=ctx.variants, desc="import", unit=" variants", dynamic_ncols=True)
    first_row_at: list[float] = []
    started = time.perf_counter()

    def progress(run) -> None:
        if run.variants_seen and not first_row_at:
            first_row_at.append(time.perf_counter() - started)
        if bar is not None:
            bar.n = run.variants_seen
            bar.refresh()

    result = import_store(store, bulk=True, progress=progress)
    if bar is not None:
        bar.close()
    if result.variants_seen != ctx.variants:
        raise RuntimeError(f"imported {result.variants_seen} variants, expected {ctx.variants}")
    total = time.perf_counter() - started
    waited = first_row_at[0] if first_row_at else 0.0
    return {
        "items": result.variants_seen,
        "products": result.products_seen,
        "variants_created": result.variants_created,
        # Until the first batch was written: the bulk query, the sandbox writing the JSONL, the download start.
        "bulk_file_wait_seconds": round(waited, 2),
        "import_items_per_second": round(result.variants_seen / (total - waited), 1) if total > waited else None,
    }


def baseline(ctx) -> dict:
    """A plugin's import: for every JSONL line, read the row by its Shopify id and save it."""
    from decimal import Decimal

    from catalog.models import Product, Variant
    from sandbox.shopify import generator

    from ..seed import SEED

    store = bench_catalog().store
    fd, path = tempfile.mkstemp(suffix=".jsonl")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        generator.write_bulk_jsonl(out, variants=ctx.baseline_items, seed=SEED, id_base=7_000_000_000)
    started = time.perf_counter()
    variants = 0
    products: dict[str, Product] = {}
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                obj = json.loads(line)
                gid = obj["id"]
                if gid.startswith("gid://shopify/Product/"):
                    pid = int(obj["legacyResourceId"])
                    product = Product.objects.filter(tenant_id=store.tenant_id, shopify_product_id=pid).first()
                    product = product or Product(tenant_id=store.tenant_id, store=store, shopify_product_id=pid)
                    product.handle, product.title = obj["handle"], obj["title"]
                    product.description_html, product.vendor = obj["descriptionHtml"] or "", obj["vendor"] or ""
                    product.save()
                    products[gid] = product
                elif gid.startswith("gid://shopify/ProductVariant/"):
                    vid = int(obj["legacyResourceId"])
                    variant = Variant.objects.filter(tenant_id=store.tenant_id, shopify_variant_id=vid).first()
                    variant = variant or Variant(tenant_id=store.tenant_id, shopify_variant_id=vid)
                    variant.product = products[obj["__parentId"]]
                    variant.title, variant.sku = obj["title"], obj["sku"] or ""
                    variant.price = Decimal(obj["price"])
                    variant.inventory_quantity = obj["inventoryQuantity"] or 0
                    variant.save()
                    variants += 1
    finally:
        os.unlink(path)
    return {"items": variants, "loop_seconds": round(time.perf_counter() - started, 3)}
