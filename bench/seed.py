"""Bench data: generated with the sandbox's generator, bulk-inserted straight into the tables.

Two seeded states (each cached as a template by :mod:`bench.database`):

* ``catalog`` — a tenant with a store, a Meta connection and a catalog holding N variants
  (``bulk_create``), each with its real payload hash from ``catalog.item_state.refresh_variant``,
  so every variant is PENDING exactly as after an import.
* ``shop`` — a tenant with a store connected to a sandbox Shopify shop that holds N
  variants (loaded by the sandbox's own bulk loader), and an empty catalog: the import's input.

Per-run state (the sandbox Meta business, statuses a scenario needs) is set after the
template is restored, see :func:`connect_meta`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

SEED = 20260101
TENANT_SLUG = "bench"
SHOP_DOMAIN = "bench-store.myshopify.com"
INSERT_VARIANTS = 2000  # variants per insert round (products follow their variants)
UNREACHED_QUOTA = 2_000_000_000  # calls per hour and use case in the sandbox
Progress = Callable[[int], None]


def generated_products(variants: int, *, id_base: int = 0, start_serial: int = 1) -> Iterator[dict[str, Any]]:
    from sandbox.shopify import generator

    return generator.count_variants_products(variants, seed=SEED, id_base=id_base, start_serial=start_serial)


def base_objects():
    """The bench tenant, its store, Meta connection and catalog (created if missing)."""
    from catalog.models import Catalog, MetaConnection, ShopifyStore, Tenant

    tenant, _ = Tenant.objects.get_or_create(slug=TENANT_SLUG, defaults={"name": "Bench Outfitters"})
    store, _ = ShopifyStore.objects.get_or_create(
        shop_domain=SHOP_DOMAIN,
        defaults={
            "tenant": tenant,
            "name": "Bench Outfitters",
            "currency": "USD",
            "primary_domain_url": "https://bench-outfitters.example",
            "webhook_secret": "bench-webhook-secret",
        },
    )
    connection, _ = MetaConnection.objects.get_or_create(tenant=tenant, defaults={"business_id": ""})
    catalog, _ = Catalog.objects.get_or_create(
        store=store,
        defaults={"tenant": tenant, "connection": connection, "name": "Bench catalog", "flow": Catalog.Flow.CREATE},
    )
    return tenant, store, connection, catalog


def product_row(data: dict[str, Any], tenant, store):
    from catalog.models import Product

    return Product(
        tenant=tenant,
        store=store,
        shopify_product_id=data["legacy_id"],
        handle=data["handle"],
        title=data["title"],
        description_html=data["description_html"] or "",
        vendor=data["vendor"] or "",
        product_type=data["product_type"] or "",
        status=data["status"],
        published=data["published_at"] is not None,
        tags=data["tags"],
        shopify_updated_at=data["updated_at"],
        images=[{"id": img["legacy_id"], "src": img["url"], "alt": img["alt_text"] or ""} for img in data["images"]],
    )


def variant_row(data: dict[str, Any], product_data: dict[str, Any], product, catalog):
    from catalog.models import Variant, shard_key_for

    retailer_id = str(data["legacy_id"])
    names = [o["name"] for o in product_data["options"]]
    image_index = data["image_index"]
    return Variant(
        tenant_id=product.tenant_id,
        product=product,
        catalog=catalog,
        shopify_variant_id=data["legacy_id"],
        title=data["title"],
        sku=data["sku"] or "",
        options=dict(zip(names, data["option_values"], strict=False)),
        position=data["position"],
        price=Decimal(data["price"]),
        compare_at_price=Decimal(data["compare_at_price"]) if data["compare_at_price"] is not None else None,
        inventory_quantity=data["inventory_quantity"],
        inventory_policy=data["inventory_policy"],
        inventory_tracked=data["tracked"],
        inventory_item_id=data["inventory_item_legacy_id"],
        image_url=product_data["images"][image_index]["url"] if image_index is not None else "",
        shopify_updated_at=data["updated_at"],
        retailer_id=retailer_id,
        shard_key=shard_key_for(retailer_id),
    )


def seed_catalog(variants: int, progress: Progress | None = None) -> int:
    """Bulk-insert ``variants`` generated variants into the bench catalog; return the count."""
    from catalog import item_state
    from catalog.models import Product, Variant

    tenant, store, _connection, catalog = base_objects()
    pending: list[dict[str, Any]] = []
    pending_variants = 0
    done = 0

    def flush() -> None:
        nonlocal done
        products = Product.objects.bulk_create([product_row(p, tenant, store) for p in pending], batch_size=500)
        rows = []
        now = timezone.now()
        for product, data in zip(products, pending, strict=True):
            for variant_data in data["variants"]:
                variant = variant_row(variant_data, data, product, catalog)
                # The real mapping and hash: PENDING (or FAILED by local validation) as after an import.
                item_state.refresh_variant(variant, product, store)
                variant.created_at = variant.updated_at = now
                rows.append(variant)
        with transaction.atomic():
            Variant.objects.bulk_create(rows, batch_size=1000)
        done += len(rows)
        if progress:
            progress(len(rows))

    for product in generated_products(variants):
        pending.append(product)
        pending_variants += len(product["variants"])
        if pending_variants >= INSERT_VARIANTS:
            flush()
            pending, pending_variants = [], 0
    if pending:
        flush()
    return done


def seed_shop(variants: int, progress: Progress | None = None) -> int:
    """A sandbox Shopify shop with ``variants`` variants, and the bench store pointing at it."""
    from sandbox.shopify import loading
    from sandbox.shopify.accounts import create_sandbox_shop
    from sandbox.shopify.models import Shop

    credentials = create_sandbox_shop(products=0)
    shop = Shop.objects.get(domain=credentials["shop_domain"])

    def counted(products):
        for product in products:
            if progress:
                progress(len(product["variants"]))
            yield product

    counts = loading.load_products(
        shop, counted(generated_products(variants, id_base=shop.id_base, start_serial=shop.next_serial))
    )
    _tenant, store, _connection, _catalog = base_objects()
    store.shop_domain = shop.domain
    store.access_token = credentials["access_token"]
    store.webhook_secret = credentials["webhook_secret"]
    store.save()
    return counts["variants"]


def point_store_at_server(site_url: str) -> None:
    """The store's Admin API URL for this run's server port (the template may carry another)."""
    from catalog.models import ShopifyStore

    store = ShopifyStore.objects.get(tenant__slug=TENANT_SLUG)
    ShopifyStore.objects.filter(pk=store.pk).update(
        admin_url=f"{site_url}/sandbox/shopify/{store.shop_domain}/admin/api"
    )


def connect_meta() -> dict:
    """A fresh sandbox Meta business; the bench catalog is pointed at it with sync enabled."""
    from catalog.models import Catalog, MetaConnection
    from sandbox import faults
    from sandbox.graph_accounts import create_sandbox_business

    meta = create_sandbox_business(name="Bench business")
    # Meta allows a business about 200 items_batch calls an hour; the bench measures our engine,
    # not that quota, so the sandbox catalog gets a quota it never reaches (README: why).
    faults.configure(catalog_id=meta["catalog_id"], rate_limit_per_hour=UNREACHED_QUOTA)
    connection = MetaConnection.objects.get(tenant__slug=TENANT_SLUG)
    connection.business_id = meta["business_id"]
    connection.set_token(meta["access_token"])
    connection.token_status = MetaConnection.TokenStatus.VALID
    connection.token_checked_at = timezone.now()
    connection.save()
    Catalog.objects.filter(tenant__slug=TENANT_SLUG).update(
        meta_catalog_id=meta["catalog_id"], sync_enabled=True, connection=connection
    )
    return meta
