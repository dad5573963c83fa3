"""Where each problem is fixed: a concrete link for a given product, variant and catalog."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext

from catalog.models import Catalog, Product, ShopifyStore, Tenant, Variant

from .models import ErrorType

# Shopify settings pages by error category (shipping problems go to shipping settings).
_SHOPIFY_SETTINGS_PATH = {"checkout": "settings/shipping", "availability": "settings/shipping"}
# Our Settings → WhatsApp Connection page: the connection app's URL name, else this path.
SETTINGS_URL_NAMES = ("connection:whatsapp",)
DEFAULT_SETTINGS_PATH = "/settings/whatsapp/"


@dataclass(frozen=True)
class FixLink:
    label: str
    url: str
    external: bool = True


def settings_url(tenant: Tenant | None = None) -> str:
    """URL of Settings → WhatsApp Connection for ``tenant`` (reversed from the connection app)."""
    url = ""
    for name in SETTINGS_URL_NAMES:
        try:
            url = reverse(name)
            break
        except NoReverseMatch:
            continue
    url = url or DEFAULT_SETTINGS_PATH
    return f"{url}?tenant={tenant.slug}" if tenant is not None else url


def shopify_admin_base(store: ShopifyStore | None) -> str:
    return f"https://{store.shop_domain}/admin" if store else ""


def commerce_manager_url(catalog: Catalog | None) -> str:
    if catalog is not None and catalog.meta_catalog_id:
        return f"https://business.facebook.com/commerce/catalogs/{catalog.meta_catalog_id}/products"
    return "https://business.facebook.com/commerce/"


def galantis_product_link(product: Product, *, in_admin: bool = False) -> FixLink:
    """The product's page in Galantis, where its Meta-only fields (category, exclusion...) are set."""
    if in_admin:
        url = reverse("admin:catalog_product_change", args=[product.pk])
        return FixLink(gettext("Edit Meta-only fields in Galantis"), url, external=False)
    return FixLink(
        gettext("Open the product in Galantis"), reverse("health:product", args=[product.pk]), external=False
    )


def shopify_product_link(
    product: Product, variant: Variant | None = None, store: ShopifyStore | None = None
) -> FixLink | None:
    """The product (or its variant) in Shopify's admin."""
    admin = shopify_admin_base(store or product.store)
    if not admin:
        return None
    url = f"{admin}/products/{product.shopify_product_id}"
    if variant is not None:
        url += f"/variants/{variant.shopify_variant_id}"
    return FixLink(gettext("Edit in Shopify"), url)


def fix_link(
    error_type: ErrorType,
    *,
    catalog: Catalog | None = None,
    product: Product | None = None,
    variant: Variant | None = None,
    store: ShopifyStore | None = None,
    tenant: Tenant | None = None,
    in_admin: bool = False,
) -> FixLink | None:
    """The link to the page where ``error_type`` is fixed, or None when nothing is to be done.

    A product-level fix leads to that product (Shopify, or Galantis for Meta-only
    fields); without a product it is None: a list is not a fix, the drill-down is.
    """
    loc = ErrorType.FixLocation
    store = store or (product.store if product is not None else None) or (catalog.store if catalog else None)
    admin = shopify_admin_base(store)
    if error_type.fix_location == loc.SHOPIFY_PRODUCT:
        return shopify_product_link(product, variant, store) if product is not None else None
    if error_type.fix_location == loc.GALANTIS_PRODUCT:
        return galantis_product_link(product, in_admin=in_admin) if product is not None else None
    if error_type.fix_location == loc.SHOPIFY_SETTINGS:
        path = _SHOPIFY_SETTINGS_PATH.get(error_type.category, "settings")
        return FixLink(gettext("Open Shopify settings"), f"{admin}/{path}") if admin else None
    if error_type.fix_location == loc.APP_SETTINGS:
        return FixLink(gettext("Open Settings → WhatsApp Connection"), settings_url(tenant), external=False)
    if error_type.fix_location == loc.COMMERCE_MANAGER:
        return FixLink(gettext("Open Commerce Manager"), commerce_manager_url(catalog))
    if error_type.fix_location == loc.META_HELP and error_type.help_url:
        return FixLink(gettext("Read Meta's guidance"), error_type.help_url)
    return None


def help_link(error_type: ErrorType) -> FixLink | None:
    return FixLink(gettext("Meta help"), error_type.help_url) if error_type.help_url else None


def variant_fix_link(variant: Variant, *, in_admin: bool = False) -> FixLink | None:
    """Where to act on a variant that has no open issue to say so: by its state.

    Excluded by staff: the Galantis product page; draft, archived or unpublished: the
    product in Shopify; failed or not visible: the variant in Shopify (its data comes from
    there); otherwise nothing to do.
    """
    product = variant.product
    if variant.excluded:
        if product.excluded_from_meta:
            return galantis_product_link(product, in_admin=in_admin)
        if product.removed_at is not None or variant.removed_at is not None:
            return None
        return shopify_product_link(product)
    if variant.meta_status == Variant.SyncStatus.FAILED or (
        variant.meta_status == Variant.SyncStatus.SYNCED
        and variant.verdict in (Variant.Verdict.NOT_VISIBLE, Variant.Verdict.REJECTED)
    ):
        return shopify_product_link(product, variant)
    return None
