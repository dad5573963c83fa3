"""Create a ready-to-use sandbox shop (operator command, demo, tests)."""

import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import generator, loading
from .collections import refresh_smart_memberships
from .models import Collection, CollectionProduct, Product, Shop

DEFAULT_SEED = 1


def _new_shop(name: str | None = None) -> Shop:
    suffix = secrets.token_hex(3)
    return Shop.objects.create(
        domain=f"sandbox-{suffix}.myshopify.com",
        name=name or f"Sandbox Store {suffix}",
        email=f"owner@sandbox-{suffix}.example",
        currency_code="USD",
        primary_domain_url=f"https://sandbox-{suffix}.example",
        id_base=Shop.next_id_base(),
        bucket_size=settings.SANDBOX_SHOPIFY_BUCKET_SIZE,
        bucket_available=settings.SANDBOX_SHOPIFY_BUCKET_SIZE,
        restore_rate=settings.SANDBOX_SHOPIFY_RESTORE_RATE,
    )


def add_default_collections(shop: Shop) -> None:
    """A custom collection of the first products and two smart ones (by tag and by sale price)."""
    now = timezone.now()

    def make(handle: str, title: str, rules: list | None) -> Collection:
        return Collection.objects.create(
            shop=shop,
            legacy_id=shop.new_legacy_id("Collection"),
            handle=handle,
            title=title,
            description_html=f"<p>{title} picks</p>",
            rules=rules,
            published_at=now,
            created_at=now,
            updated_at=now,
            sort_order="MANUAL" if rules is None else "BEST_SELLING",
        )

    featured = make("featured", "Featured", None)
    first = Product.objects.for_shop(shop).order_by("legacy_id").values_list("pk", flat=True)[:5]
    CollectionProduct.objects.bulk_create(
        [CollectionProduct(collection=featured, product_id=pk, position=n) for n, pk in enumerate(first, start=1)]
    )
    make("summer", "Summer", [{"column": "TAG", "relation": "EQUALS", "condition": "summer"}])
    make("on-sale", "On sale", [{"column": "IS_PRICE_REDUCED", "relation": "IS_SET", "condition": "true"}])
    refresh_smart_memberships(shop)


def create_sandbox_shop(*, products: int = 20, jsonl_path: str | None = None, seed: int = DEFAULT_SEED) -> dict:
    """Create a sandbox shop with `products` generated products (or a JSONL file's) and credentials.

    Returns ``{"shop_domain", "admin_url", "api_version", "access_token", "webhook_secret"}``;
    `admin_url` is absolute (from SITE_URL) and carries no version.
    """
    with transaction.atomic():
        shop = _new_shop()
    if jsonl_path:
        loading.load_products(shop, loading.iter_jsonl_products(jsonl_path))
    else:
        loading.load_products(
            shop, generator.generate_products(products, seed=seed, id_base=shop.id_base, start_serial=shop.next_serial)
        )
    add_default_collections(shop)
    return shop_credentials(shop)


def shop_credentials(shop: Shop) -> dict[str, Any]:
    return {
        "shop_domain": shop.domain,
        "admin_url": shop.admin_url,
        "api_version": settings.SHOPIFY_API_VERSION,
        "access_token": shop.access_token,
        "webhook_secret": shop.webhook_secret,
    }
