"""The end of every scenario: Meta's catalog against Shopify's truth, item by item.

For every variant of the sandbox Shopify shop:

* our copy must hold Shopify's current data (price, compare-at price, stock, titles,
  product status), else nothing downstream can be right;
* a variant meant to be live and locally valid must be in the sandbox Meta catalog,
  visible, with the price, sale price, availability and title of the item built from
  that data, and its status must be SYNCED;
* an excluded (draft, archived, unpublished) or locally invalid variant must be absent
  from Meta or hidden (``visibility: staging``), and our status must say so (excluded,
  or FAILED with a reason).

``lost`` counts the items where Meta and Shopify disagree while our status claims they
agree (SYNCED, or excluded / invalid while Meta shows it), the variants we never
stored, and those still PENDING at the end. A variant Meta refused, FAILED with Meta's
message, is not lost: the status says so (counted in ``failed``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

COMPARED = ("price", "sale_price", "availability", "title")


@dataclass
class Verdict:
    pending: int = 0
    synced: int = 0
    failed: int = 0
    excluded: int = 0
    lost: int = 0
    checked: int = 0
    reasons: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def lose(self, reason: str, retailer_id: str) -> None:
        self.lost += 1
        self.reasons[reason] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{retailer_id}: {reason}")

    def as_dict(self) -> dict:
        return {
            "pending": self.pending,
            "synced": self.synced,
            "failed": self.failed,
            "excluded": self.excluded,
            "lost": self.lost,
            "checked": self.checked,
            "lost_reasons": dict(self.reasons),
            "lost_examples": self.examples,
        }


def _shopify_truth(store) -> dict[int, tuple]:
    """Shopify variant id -> (the variant, its product) of the sandbox shop behind ``store``."""
    from sandbox.shopify.models import Shop
    from sandbox.shopify.models import Variant as ShopVariant

    shop = Shop.objects.get(domain=store.shop_domain)
    variants = ShopVariant.objects.filter(shop=shop).select_related("product")
    return {v.legacy_id: (v, v.product) for v in variants.iterator(chunk_size=2000)}


def _stale_fields(ours, truth_variant, truth_product) -> list[str]:
    """Fields of our copy that differ from Shopify's current data."""
    product = ours.product
    checks = {
        "price": (ours.price, truth_variant.price),
        "compare_at_price": (ours.compare_at_price, truth_variant.compare_at_price),
        "inventory_quantity": (ours.inventory_quantity, truth_variant.inventory_quantity),
        "variant title": (ours.title, truth_variant.title),
        "product title": (product.title, truth_product.title),
        "product status": (product.status.upper(), truth_product.status.upper()),
        "published": (product.published, truth_product.published_at is not None),
    }
    return [name for name, (mine, theirs) in checks.items() if mine != theirs]


def compare(catalog) -> Verdict:
    """Compare the sandbox Meta catalog with Shopify's truth for every variant of the shop."""
    from catalog import items
    from catalog.models import Variant
    from sandbox.models import ProductCatalog, ProductItem

    verdict = Verdict()
    store = catalog.store
    truth = _shopify_truth(store)
    meta_catalog = ProductCatalog.objects.get(pk=ProductCatalog.pk_from_fbid(catalog.meta_catalog_id))
    meta_items = {
        item.retailer_id: item
        for item in ProductItem.objects.filter(catalog=meta_catalog).only("retailer_id", "data", "visibility")
    }
    ours = {
        v.shopify_variant_id: v
        for v in Variant.objects.filter(catalog=catalog).select_related("product", "product__store")
    }
    Status = Variant.SyncStatus
    for shopify_id, (truth_variant, truth_product) in truth.items():
        verdict.checked += 1
        variant = ours.get(shopify_id)
        retailer_id = str(shopify_id)
        if variant is None:
            verdict.lose("never stored", retailer_id)
            continue
        if variant.meta_status == Status.PENDING:
            verdict.pending += 1
            verdict.lose("still PENDING", retailer_id)
            continue
        stale = _stale_fields(variant, truth_variant, truth_product)
        item = items.meta_item(variant, variant.product, variant.product.store)
        invalid = items.local_problems(item)
        meta = meta_items.get(variant.retailer_id)
        shown = meta is not None and meta.visibility != "staging"
        if variant.excluded or invalid:
            if variant.excluded:
                verdict.excluded += 1
            else:
                verdict.failed += 1
            if stale:
                verdict.lose(f"our copy is stale ({', '.join(stale)})", retailer_id)
            elif shown:
                verdict.lose("excluded or invalid, but visible in Meta", retailer_id)
            elif not variant.excluded and variant.meta_status != Status.FAILED:
                verdict.lose(f"locally invalid, status {variant.meta_status}", retailer_id)
            continue
        if variant.meta_status == Status.FAILED:
            verdict.failed += 1
            if not variant.last_error:
                verdict.lose("FAILED without a reason", retailer_id)
            continue
        verdict.synced += 1
        if stale:
            verdict.lose(f"SYNCED but our copy is stale ({', '.join(stale)})", retailer_id)
        elif meta is None:
            verdict.lose("SYNCED but absent from Meta", retailer_id)
        elif not shown:
            verdict.lose("SYNCED but hidden in Meta", retailer_id)
        else:
            wrong = [name for name in COMPARED if (meta.data or {}).get(name) != item.get(name)]
            if wrong:
                verdict.lose(f"SYNCED but Meta holds another {'/'.join(wrong)}", retailer_id)
    return verdict
