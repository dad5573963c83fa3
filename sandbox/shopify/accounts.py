"""Create a ready-to-use sandbox shop (operator command, demo, tests)."""

import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import generator, loading
from .collections import refresh_smart_memberships
from .jsonl_loading import load_jsonl
from .models import Collection, CollectionProduct, Product, Shop

DEFAULT_SEED = 1


def _new_shop(name: str | None = None, domain: str | None = None) -> Shop:
    suffix = secrets.token_hex(3)
    return Shop.objects.create(
        domain=domain or f"sandbox-{suffix}.myshopify.com",
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
    """A custom collection of the first products and two smart ones (by tag and by sale price).

    A handle the shop already has (a JSONL file's collection) is left as it is.
    """
    now = timezone.now()
    taken = set(Collection.objects.for_shop(shop).values_list("handle", flat=True))

    def make(handle: str, title: str, rules: list | None) -> Collection | None:
        if handle in taken:
            return None
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
    if featured is not None:
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
    return create_and_load_sandbox_shop(products=products, jsonl_path=jsonl_path, seed=seed)[0]


def create_and_load_sandbox_shop(
    *,
    products: int = 20,
    jsonl_path: str | None = None,
    seed: int = DEFAULT_SEED,
    domain: str | None = None,
    name: str | None = None,
) -> tuple[dict, loading.LoadReport]:
    """`create_sandbox_shop`, also returning what was loaded (`domain` and `name`: the demo's fixed ones).

    A JSONL file loads in one transaction with the shop: a malformed line
    (`jsonl_loading.JsonlError`) leaves no shop behind.
    """
    if jsonl_path:
        with transaction.atomic():
            shop = _new_shop(name, domain)
            report = load_jsonl(shop, jsonl_path)
    else:
        with transaction.atomic():
            shop = _new_shop(name, domain)
        counts = loading.load_products(
            shop, generator.generate_products(products, seed=seed, id_base=shop.id_base, start_serial=shop.next_serial)
        )
        report = loading.LoadReport(**counts)
    add_default_collections(shop)
    return shop_credentials(shop), report


def shop_credentials(shop: Shop) -> dict[str, Any]:
    return {
        "shop_domain": shop.domain,
        "admin_url": shop.admin_url,
        "api_version": settings.SHOPIFY_API_VERSION,
        "access_token": shop.access_token,
        "webhook_secret": shop.webhook_secret,
    }
