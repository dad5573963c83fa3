"""The demo: a tenant and its people, a sandbox Shopify shop connected and imported the way a
merchant's would be, and a sandbox Meta business the catalog syncs to.

It lives on the sandbox side because it plays both platforms; the product is driven only
through its own services, the same ones the commands and pages call:

- the shop is connected by ``catalog.shopify.connect.connect_store`` (``connect_shopify``),
  which checks the token over HTTP and registers the webhook subscriptions;
- its products come in through ``catalog.shopify.importer.import_store``
  (``shopify_import``): there is no second product loader;
- Meta is connected by ``catalog.connection.flows`` (``connect_token``, ``choose_catalog``),
  as on Settings → WhatsApp Connection, so that page is right on first load;
- one stock change in the shop then fires a live webhook, so Webhook events has data and
  ``sandbox_shopify_change`` (or the sandbox admin) can fire more while the server runs.

All of it goes over real HTTP to ``SITE_URL``: when nothing answers there yet (``make demo``
runs this before the server starts), the site is served on that address for the duration.
``run_demo()`` is idempotent: a second run reuses the shop, store, business and catalog,
changes nothing but the printed passwords (reset each run, so the printed ones always work).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction

from catalog import tenants
from catalog.connection import catalogs as catalog_checks
from catalog.connection import flows
from catalog.models import Catalog, ImportRun, Membership, MetaConnection, ShopifyStore, Tenant, Variant, WebhookEvent
from catalog.shopify.connect import connect_store
from catalog.shopify.importer import import_store
from sandbox.graph_accounts import create_sandbox_business
from sandbox.shopify import changes
from sandbox.shopify.accounts import create_and_load_sandbox_shop
from sandbox.shopify.models import Product as ShopProduct
from sandbox.shopify.models import ProductImage as ShopImage
from sandbox.shopify.models import Shop
from sandbox.shopify.models import Variant as ShopVariant

from .serving import site_served

logger = logging.getLogger(__name__)

DEMO_TENANT_SLUG = "demo"
DEMO_TENANT_NAME = "Demo Outfitters"
DEMO_SHOP_DOMAIN = "demo-outfitters.myshopify.com"
DEMO_PRODUCTS = 300
DEMO_SEED = 20251115
# Variant images put on an intranet host (see break_image_links): Meta rejects the items using them.
META_REJECTED_DEMO = 3
# The stock level the demo's live webhook sets (a fixed value, so a re-run changes nothing).
DEMO_STOCK = 7
SUPERUSER_NAME = "admin"
STAFF_NAME = "staff"
OWNER_NAME = "owner"
INTRANET_IMAGES = "http://images-intranet/"


@dataclass
class DemoUser:
    """One printed login: what the user is, the username and a fresh password."""

    role: str
    username: str
    password: str


@dataclass
class DemoResult:
    tenant: Tenant
    store: ShopifyStore
    catalog: Catalog
    users: list[DemoUser] = field(default_factory=list)
    products: int = 0
    variants: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    import_run: ImportRun | None = None
    webhook_events: int = 0


def run_demo(*, products: int = DEMO_PRODUCTS, seed: int = DEMO_SEED) -> DemoResult:
    """Create or refresh the demo tenant, users, connected shop, Meta catalog and products."""
    with transaction.atomic():
        tenant = tenants.ensure_tenant(DEMO_TENANT_SLUG, DEMO_TENANT_NAME).tenant
        users = [
            DemoUser("superuser (every tenant)", SUPERUSER_NAME, _reset_user(SUPERUSER_NAME, superuser=True)),
            DemoUser(f"owner of {tenant.slug}", OWNER_NAME, _reset_user(OWNER_NAME, superuser=False)),
            DemoUser(f"staff of {tenant.slug}", STAFF_NAME, _reset_user(STAFF_NAME, superuser=False)),
        ]
        user_model = get_user_model()
        tenants.add_member(tenant, user_model.objects.get(username=OWNER_NAME), role=Membership.Role.OWNER)
        tenants.add_member(tenant, user_model.objects.get(username=STAFF_NAME), role=Membership.Role.STAFF)
    shop = ensure_demo_shop(products, seed)
    with site_served():
        store = connect_store(
            tenant, shop.domain, shop.access_token, shop.webhook_secret, admin_url=shop.admin_url
        ).store
        catalog = connect_meta(tenant, store)
        # A bulk operation: the way Galantis imports big stores, and seconds instead of minutes of
        # paged queries against the cost bucket.
        run = import_store(store, bulk=True, trigger=ImportRun.Trigger.COMMAND)
        fire_live_webhook(shop)
    catalog.refresh_from_db()
    variants = Variant.objects.for_tenant(tenant).filter(catalog=catalog)
    return DemoResult(
        tenant=tenant,
        store=store,
        catalog=catalog,
        users=users,
        products=store.products.count(),
        variants=variants.count(),
        status_counts=variants.status_counts(),
        import_run=run,
        webhook_events=WebhookEvent.objects.for_tenant(tenant).count(),
    )


def ensure_demo_shop(products: int, seed: int) -> Shop:
    """The demo's sandbox Shopify shop: created and filled once, then kept (a re-run adds nothing)."""
    shop = Shop.objects.filter(domain=DEMO_SHOP_DOMAIN).first()
    if shop is None:
        create_and_load_sandbox_shop(products=products, seed=seed, domain=DEMO_SHOP_DOMAIN, name=DEMO_TENANT_NAME)
        shop = Shop.objects.get(domain=DEMO_SHOP_DOMAIN)
        break_image_links(shop, META_REJECTED_DEMO)
    return shop


def break_image_links(shop: Shop, count: int) -> int:
    """Move ``count`` variant images to an intranet host (no domain name), which Meta rejects.

    A realistic item problem only Meta finds (an http address, so local validation passes;
    Meta cannot resolve the host): the demo shows FAILED items carrying Meta's own message
    next to the ones rejected locally. Images of different active, published products with
    a price, never a product's first one (it stands in for the product's image-less variants).
    """
    images: list[ShopImage] = []
    variants = (
        ShopVariant.objects.filter(
            shop=shop,
            image__isnull=False,
            image__position__gt=1,
            price__gt=0,
            product__status=ShopProduct.Status.ACTIVE,
            product__published_at__isnull=False,
        )
        .select_related("image")
        .order_by("legacy_id")
    )
    for variant in variants:
        if len(images) == count:
            break
        if all(image.product_id != variant.image.product_id for image in images):
            images.append(variant.image)
    for image in images:
        image.url = INTRANET_IMAGES + image.url.rsplit("/", 1)[-1]
    ShopImage.objects.bulk_update(images, ["url"])
    return len(images)


def connect_meta(tenant: Tenant, store: ShopifyStore) -> Catalog:
    """Connect a sandbox Meta business and create the store's catalog in it, by the merchant's flows.

    ``connect_token`` checks the token and lists the business's catalogs; ``choose_catalog``
    creates the catalog, switches sync on and runs the pixel and commerce checks; the pixel
    is connected as on the page. A re-run keeps the connection and catalog and re-reads the
    list and the checks (what the page shows on first load).
    """
    catalog = flows.current_catalog(store, tenant)
    connection = MetaConnection.objects.for_tenant(tenant).first()
    if catalog is not None and catalog.meta_catalog_id and connection is not None and connection.token_last4:
        flows.refresh_catalog_list(connection)
        return catalog_checks.refresh_checks(catalog)
    account = create_sandbox_business(name=DEMO_TENANT_NAME)
    flows.connect_token(tenant, token=account["access_token"], business_id=account["business_id"])
    catalog = flows.choose_catalog(
        tenant, store=store, flow=Catalog.Flow.CREATE, create_name=f"{DEMO_TENANT_NAME} catalog", confirmed=True
    )
    return catalog_checks.connect_pixel(catalog, account["pixel_id"])


def fire_live_webhook(shop: Shop) -> None:
    """Set one variant's stock in the shop: Shopify's webhooks reach the served site at once."""
    variant = (
        ShopVariant.objects.filter(shop=shop, product__status=ShopProduct.Status.ACTIVE, tracked=True)
        .select_related("product", "shop")
        .order_by("legacy_id")
        .first()
    )
    if variant is not None:
        changes.set_inventory(variant, DEMO_STOCK)


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
