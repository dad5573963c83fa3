"""The demo: a tenant, its people, a Shopify store with a few hundred realistic products.

``run_demo()`` is idempotent: it upserts by Shopify ids, so a second run changes
nothing but the printed passwords (reset each run, so the printed ones always work).

Products come from ``product_source`` as plain dicts in the shape of
``sandbox.shopify.generator.generate_products`` (``legacy_id``, ``handle``, ``title``,
``description_html``, ``vendor``, ``product_type``, ``status``, ``tags``, ``options``,
``published_at``, ``images`` and ``variants`` lists) and are bulk-upserted. Importing
them from the sandbox shop over its Admin API instead changes one line.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.utils import timezone

from . import item_state, tenants
from .models import Catalog, Membership, MetaConnection, Product, ShopifyStore, Tenant, Variant, shard_key_for

DEMO_TENANT_SLUG = "demo"
DEMO_TENANT_NAME = "Demo Outfitters"
DEMO_SHOP_DOMAIN = "demo-outfitters.myshopify.com"
DEMO_PRODUCTS = 300
DEMO_SEED = 20251115
# Variants whose image link Meta rejects (see break_image_links).
META_REJECTED_DEMO = 3
SUPERUSER_NAME = "admin"
STAFF_NAME = "staff"
# Rows per INSERT: well inside SQLite's limit on parameters for our widest row.
INSERT_BATCH = 250

ProductSource = Callable[[int, int], Iterator[dict[str, Any]]]


@dataclass
class DemoResult:
    tenant: Tenant
    store: ShopifyStore
    catalog: Catalog
    credentials: list[tuple[str, str, str]] = field(default_factory=list)  # (role, username, password)
    products: int = 0
    variants: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)


def run_demo(*, products: int = DEMO_PRODUCTS, seed: int = DEMO_SEED) -> DemoResult:
    """Create or refresh the demo tenant, users, store, catalog and products; return what to print."""
    with transaction.atomic():
        tenant = tenants.ensure_tenant(DEMO_TENANT_SLUG, DEMO_TENANT_NAME).tenant
        store, _ = ShopifyStore.objects.update_or_create(
            shop_domain=DEMO_SHOP_DOMAIN,
            defaults={
                "tenant": tenant,
                "name": DEMO_TENANT_NAME,
                "currency": "USD",
                "primary_domain_url": "https://demo-outfitters.example",
            },
        )
        catalog, _ = Catalog.objects.get_or_create(
            store=store,
            defaults={"tenant": tenant, "name": f"{DEMO_TENANT_NAME} catalog", "flow": Catalog.Flow.CREATE},
        )
        result = DemoResult(tenant=tenant, store=store, catalog=catalog)
        admin_password = _reset_user(SUPERUSER_NAME, superuser=True)
        result.credentials.append(("superuser", SUPERUSER_NAME, admin_password))
        staff_password = _reset_user(STAFF_NAME, superuser=False)
        tenants.add_member(tenant, get_user_model().objects.get(username=STAFF_NAME), role=Membership.Role.STAFF)
        result.credentials.append((f"staff of {tenant.slug}", STAFF_NAME, staff_password))
        result.products, result.variants = load_products(store, catalog, product_source(products, seed))
    connect_meta_sandbox(catalog)
    break_image_links(catalog, META_REJECTED_DEMO)
    # Outside the transaction: refresh streams and writes in its own bounded batches.
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    result.status_counts = Variant.objects.filter(catalog=catalog).status_counts()
    return result


def connect_meta_sandbox(catalog: Catalog) -> Catalog:
    """Connect the demo catalog to a sandbox Meta business and switch its sync on (kept on re-runs).

    The task cluster that ``make demo`` starts then syncs it by the schedules (push and
    poll every minute) through the sandbox Graph API of the same server.
    """
    from sandbox.graph_accounts import create_sandbox_business  # the demo is a sandbox feature

    from .sync import schedule

    connection = MetaConnection.objects.filter(tenant=catalog.tenant).first()
    if connection is None or not catalog.meta_catalog_id:
        account = create_sandbox_business(name=DEMO_TENANT_NAME)
        connection = connection or MetaConnection(tenant=catalog.tenant)
        connection.business_id = account["business_id"]
        connection.set_token(account["access_token"])
        connection.token_status = MetaConnection.TokenStatus.VALID
        connection.save()
        catalog.connection = connection
        catalog.meta_catalog_id = account["catalog_id"]
        catalog.pixel_id = account["pixel_id"]
        _connect_sandbox_pixel(account["catalog_id"], account["pixel_id"])
    catalog.sync_enabled = True
    catalog.save()
    schedule.ensure_schedules()
    return catalog


def _connect_sandbox_pixel(catalog_id: str, pixel_id: str) -> None:
    """Give the demo's sandbox catalog its pixel as event source, as a set-up merchant would have."""
    from sandbox.models import Pixel, ProductCatalog, parse_fbid

    catalog = ProductCatalog.objects.get(pk=parse_fbid(catalog_id)[1])
    catalog.external_event_sources.add(Pixel.objects.get(pk=parse_fbid(pixel_id)[1]))


INTRANET_IMAGES = "http://images-intranet/"


def break_image_links(catalog: Catalog, count: int) -> int:
    """Give a few variants an image link on an intranet host (no domain name), which Meta rejects.

    A realistic item problem that only Meta finds (an http address, so local validation
    passes; Meta cannot resolve the host): the demo shows FAILED items carrying Meta's own
    message next to the ones rejected locally.
    """
    candidates = (
        Variant.objects.filter(catalog=catalog, price__gt=0, product__status=Product.Status.ACTIVE)
        .exclude(image_url="")
        .order_by("shopify_variant_id")[:count]
    )
    broken = 0
    for variant in candidates:
        if not variant.image_url.startswith(INTRANET_IMAGES):
            variant.image_url = INTRANET_IMAGES + variant.image_url.rsplit("/", 1)[-1]
            variant.save(update_fields=["image_url"])
        broken += 1
    return broken


def _reset_user(username: str, *, superuser: bool) -> str:
    """Create ``username`` (or take the existing one), give it a fresh password, return it."""
    user_model = get_user_model()
    user: AbstractUser
    user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    password = tenants.generate_password()
    user.set_password(password)
    user.is_staff = True
    user.is_superuser = superuser
    user.is_active = True
    user.save()
    return password


PRODUCT_FIELDS = [
    "store",
    "handle",
    "title",
    "description_html",
    "vendor",
    "product_type",
    "status",
    "published",
    "tags",
    "images",
    "shopify_updated_at",
    "updated_at",
]
VARIANT_FIELDS = [
    "product",
    "catalog",
    "title",
    "sku",
    "options",
    "position",
    "price",
    "compare_at_price",
    "inventory_quantity",
    "inventory_policy",
    "inventory_tracked",
    "inventory_item_id",
    "image_url",
    "shopify_updated_at",
    "updated_at",
]


def load_products(store: ShopifyStore, catalog: Catalog, products: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Upsert generator-shaped products and their variants with bulk inserts; return both counts."""
    now = timezone.now()
    product_rows: list[Product] = []
    variant_specs: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for data in products:
        images = [
            {"id": img["legacy_id"], "src": img["url"], "alt": img.get("alt_text") or ""} for img in data["images"]
        ]
        product_rows.append(
            Product(
                tenant_id=store.tenant_id,
                store=store,
                shopify_product_id=data["legacy_id"],
                handle=data["handle"],
                title=data["title"],
                description_html=data["description_html"],
                vendor=data["vendor"],
                product_type=data["product_type"],
                status=data["status"],
                published=data["published_at"] is not None,
                tags=data["tags"],
                images=images,
                shopify_updated_at=data.get("updated_at"),
                updated_at=now,
            )
        )
        variant_specs.extend((data["legacy_id"], data, variant) for variant in data["variants"])
    Product.objects.bulk_create(
        product_rows,
        batch_size=INSERT_BATCH,
        update_conflicts=True,
        unique_fields=["tenant", "shopify_product_id"],
        update_fields=PRODUCT_FIELDS,
    )
    product_pks = dict(Product.objects.filter(store=store).values_list("shopify_product_id", "pk"))
    products_by_id = {product.shopify_product_id: product for product in product_rows}
    known = set(Variant.objects.filter(product__store=store).values_list("shopify_variant_id", flat=True))
    variant_rows = []
    for product_id, data, variant in variant_specs:
        row = _variant_row(store, catalog, product_pks[product_id], data, variant, now)
        if row.shopify_variant_id not in known:
            # A new row goes in with its payload hash and status already worked out (one
            # INSERT instead of an INSERT and an UPDATE); existing rows keep their Meta state.
            item_state.refresh_variant(row, products_by_id[product_id], store)
        variant_rows.append(row)
    Variant.objects.bulk_create(
        variant_rows,
        batch_size=INSERT_BATCH,
        update_conflicts=True,
        unique_fields=["tenant", "shopify_variant_id"],
        # Never the retailer id or the Meta state: those belong to the sync.
        update_fields=VARIANT_FIELDS,
    )
    return len(product_rows), len(variant_rows)


def _variant_row(store: ShopifyStore, catalog: Catalog, product_pk: int, product: dict, variant: dict, now) -> Variant:
    names = [option["name"] for option in product["options"]]
    options = {name: value for name, value in zip(names, variant["option_values"], strict=False) if name != "Title"}
    image_index = variant.get("image_index")
    image_url = product["images"][image_index]["url"] if image_index is not None else ""
    retailer_id = str(variant["legacy_id"])
    return Variant(
        tenant_id=store.tenant_id,
        product_id=product_pk,
        catalog=catalog,
        shopify_variant_id=variant["legacy_id"],
        title=variant["title"],
        sku=variant["sku"] or "",
        options=options,
        position=variant["position"],
        price=variant["price"],
        compare_at_price=variant["compare_at_price"],
        inventory_quantity=variant["inventory_quantity"],
        inventory_policy=variant["inventory_policy"],
        inventory_tracked=variant["tracked"],
        inventory_item_id=variant.get("inventory_item_legacy_id"),
        image_url=image_url,
        shopify_updated_at=product.get("updated_at"),
        retailer_id=retailer_id,
        shard_key=shard_key_for(retailer_id),
        updated_at=now,
    )


def generated_products(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """Products from the sandbox's generator: the same realistic mix (and pitfalls) the sandbox shop serves.

    About 8 % have no image and a few a zero price (FAILED locally), some are drafts,
    archived or unpublished, a quarter are on sale, some variants oversold or untracked.
    """
    from sandbox.shopify import generator  # the demo is a sandbox feature

    return generator.generate_products(count, seed=seed)


# The one line to change when the demo imports its products from the sandbox shop instead.
product_source: ProductSource = generated_products
