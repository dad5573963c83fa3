"""The demo: a tenant, its people, a Shopify store with a few hundred realistic products.

``run_demo()`` is idempotent: it upserts by Shopify ids, so a second run changes
nothing but the printed passwords (reset each run, so the printed ones always work).

Products come from ``product_source`` as plain dicts in the shape of
``sandbox.shopify.generator.generate_products`` (``legacy_id``, ``handle``, ``title``,
``description_html``, ``vendor``, ``product_type``, ``status``, ``tags``, ``options``,
``published_at``, ``images`` and ``variants`` lists). Swapping the local generator
below for the sandbox's (or for a real import from the sandbox shop) changes one line.
"""

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from . import items, tenants
from .models import Catalog, Membership, Product, ShopifyStore, Tenant, Variant, shard_key_for

DEMO_TENANT_SLUG = "demo"
DEMO_TENANT_NAME = "Demo Outfitters"
DEMO_SHOP_DOMAIN = "demo-outfitters.myshopify.com"
DEMO_PRODUCTS = 300
DEMO_SEED = 20251115
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
    # Outside the transaction: refresh streams and writes in its own bounded batches.
    items.refresh_variants(Variant.objects.filter(catalog=catalog))
    result.status_counts = Variant.objects.filter(catalog=catalog).status_counts()
    return result


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
    variant_rows = [
        _variant_row(store, catalog, product_pks[product_id], data, variant, now)
        for product_id, data, variant in variant_specs
    ]
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


# --- A small local generator, in the sandbox generator's dict shape ----------------------------

PRODUCT_ID_BASE = 7_600_900_000_000
VARIANT_ID_BASE = 44_000_900_000_000
IMAGE_ID_BASE = 39_000_900_000_000
INVENTORY_ITEM_ID_BASE = 46_000_900_000_000
CDN = "https://cdn.shopify.com/s/files/1/0611/2345/6789/files"

VENDORS = ["Harbor & Pine", "Northwind Goods", "Café Lumière", "Blue Fern Co.", "Maison Élodie", "東京デザイン", ""]
# product type -> (option names, price range in whole dollars)
TYPES: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "T-Shirts": (("Size", "Color"), (18, 45)),
    "Hoodies": (("Size", "Color"), (45, 90)),
    "Sneakers": (("Size",), (60, 180)),
    "Mugs": (("Color",), (12, 30)),
    "Candles": (("Scent",), (14, 40)),
    "Backpacks": (("Color",), (40, 160)),
    "Notebooks": ((), (5, 25)),
}
OPTION_VALUES = {
    "Size": {"Sneakers": ["39", "40", "41", "42", "43", "44"], "default": ["XS", "S", "M", "L", "XL"]},
    "Color": ["Black", "White", "Navy", "Forest Green", "Sand", "Rouge"],
    "Scent": ["Cedar", "Fig", "Sea Salt", "Lavender"],
}
ADJECTIVES = ["Classic", "Everyday", "Organic", "Vintage", "Heavyweight", "Minimal", "Handmade", "Recycled", "Alpine"]
MATERIALS = ["Cotton", "Linen", "Stoneware", "Cedar", "Wool", "Canvas", "Leather", "Soy", "Hemp"]
SPECIAL_TITLES = ["桜 Sakura Tee", "Café crème Mug ☕", "🔥 Fire Sale Hoodie 🔥", "Crème brûlée Candle"]
DESCRIPTIONS = [
    "<p>Made to last &amp; made to move: our {material} {noun} is cut for everyday wear.</p>",
    "<p>Care: wash cold&nbsp;&#8211; hang dry.</p><ul><li><strong>{material}</strong>, responsibly sourced</li></ul>",
    "<h2>Why you'll love it</h2><p>Soft, sturdy &amp; <em>sustainable</em> {noun}.</p>",
]
TAGS = ["summer", "winter", "bestseller", "new", "sale", "eco", "gift"]


def generated_products(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """Yield ``count`` deterministic products with the usual Shopify mix and a few problems.

    About 5 % have no image and 2 % a zero price (FAILED locally), 8 % are drafts or
    archived, a quarter are on sale, some variants are out of stock or oversold.
    """
    rng = random.Random(seed)
    variant_serial = image_serial = 0
    for index in range(1, count + 1):
        product_type = rng.choice(list(TYPES))
        option_names, (low, high) = TYPES[product_type]
        if rng.random() < 0.03:
            title = rng.choice(SPECIAL_TITLES)
        else:
            title = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {product_type.rstrip('s')}"
        handle = f"{slugify(title) or 'product'}-{index}"
        options = []
        for name in option_names:
            pool = OPTION_VALUES[name]
            values = pool.get(product_type, pool["default"]) if isinstance(pool, dict) else pool
            if name != "Size":
                values = rng.sample(values, rng.randint(1, 3))
            options.append({"name": name, "values": list(values)})
        combos: list[tuple[str, ...]] = [()]
        for option in options:
            combos = [combo + (value,) for combo in combos for value in option["values"]]
        if not options:
            options, combos = [{"name": "Title", "values": ["Default Title"]}], [("Default Title",)]
        images = []
        if rng.random() >= 0.05:
            for position in range(1, rng.randint(1, 3) + 1):
                image_serial += 1
                images.append(
                    {
                        "legacy_id": IMAGE_ID_BASE + image_serial,
                        "position": position,
                        "url": f"{CDN}/{handle}-{position}.jpg",
                        "alt_text": f"{title} view {position}",
                    }
                )
        roll = rng.random()
        status = "ACTIVE" if roll < 0.92 else ("DRAFT" if roll < 0.97 else "ARCHIVED")
        price = Decimal("0.00") if rng.random() < 0.02 else Decimal(rng.randint(low, high)) + Decimal("0.99")
        on_sale = rng.random() < 0.25
        tracked = rng.random() >= 0.1
        variants = []
        for position, combo in enumerate(combos, start=1):
            variant_serial += 1
            policy = "CONTINUE" if rng.random() < 0.1 else "DENY"
            quantity = rng.choice([0, 0, -2, 3, 8, 12, 25, 40]) if policy == "CONTINUE" else rng.choice([0, 4, 9, 30])
            variants.append(
                {
                    "legacy_id": VARIANT_ID_BASE + variant_serial,
                    "inventory_item_legacy_id": INVENTORY_ITEM_ID_BASE + variant_serial,
                    "title": " / ".join(combo),
                    "option_values": list(combo),
                    "sku": f"{product_type[:3].upper()}-{index:04d}-{position:02d}",
                    "price": price,
                    "compare_at_price": (price * Decimal("1.3")).quantize(Decimal("1.00")) if on_sale else None,
                    "position": position,
                    "inventory_policy": policy,
                    "tracked": tracked,
                    "inventory_quantity": quantity,
                    "image_index": (position - 1) % len(images) if len(images) > 1 else None,
                }
            )
        material, noun = rng.choice(MATERIALS).lower(), product_type.lower()
        yield {
            "legacy_id": PRODUCT_ID_BASE + index,
            "handle": handle,
            "title": title,
            "description_html": rng.choice(DESCRIPTIONS).format(material=material, noun=noun),
            "vendor": rng.choice(VENDORS),
            "product_type": product_type,
            "status": status,
            "tags": sorted(rng.sample(TAGS, rng.randint(0, 3))),
            "options": options,
            "published_at": None if status != "ACTIVE" or rng.random() < 0.03 else "2025-01-01T00:00:00Z",
            "updated_at": None,
            "images": images,
            "variants": variants,
        }


# The one line to change when the demo takes its products from the sandbox generator.
product_source: ProductSource = generated_products
