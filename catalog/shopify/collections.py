"""Shopify collections mirrored as product sets (membership plus the Meta filter derived from it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog.items import plain_description
from catalog.models import Product, ProductSet, ProductSetMembership, ShopifyStore, Variant

from .records import CollectionRecord
from .upsert import chunked


def store_catalog(store: ShopifyStore):
    try:
        return store.catalog
    except ShopifyStore.catalog.RelatedObjectDoesNotExist:
        return None


def upsert_collection(
    store: ShopifyStore, record: CollectionRecord, member_product_ids: Iterable[int] | None = None
) -> ProductSet | None:
    """Create or rename the product set of a collection and, if given, replace its members.

    Without a catalog there is nowhere to put a product set: returns None.
    """
    catalog = store_catalog(store)
    if catalog is None:
        return None
    with transaction.atomic():
        product_set, created = ProductSet.objects.get_or_create(
            catalog=catalog,
            shopify_collection_id=record.shopify_collection_id,
            defaults={"tenant_id": store.tenant_id, "name": record.title or record.handle or "Collection"},
        )
        changed = created
        name = record.title or record.handle or product_set.name
        if product_set.name != name or product_set.removed_at is not None:
            product_set.name = name
            product_set.removed_at = None
            changed = True
        changed |= _set_metadata(product_set, record)
        if member_product_ids is not None:
            changed |= _replace_members(store, product_set, member_product_ids)
        changed |= _refresh_filter(product_set)
        if changed:
            now = timezone.now()
            product_set.updated_at = product_set.changed_at = now
            product_set.needs_sync = True
            product_set.save(
                update_fields=[
                    "name",
                    "removed_at",
                    "filter",
                    "handle",
                    "description",
                    "image_url",
                    "needs_sync",
                    "changed_at",
                    "updated_at",
                ]
            )
    return product_set


def _set_metadata(product_set: ProductSet, record: CollectionRecord) -> bool:
    """Take the handle, plain-text description and image Meta's metadata is built from; True if changed."""
    wanted = {"handle": record.handle or product_set.handle}
    if record.description_html is not None:
        wanted["description"] = plain_description(record.description_html, "")
    if record.image_url is not None:
        wanted["image_url"] = record.image_url
    changed = False
    for field, value in wanted.items():
        if getattr(product_set, field) != value:
            setattr(product_set, field, value)
            changed = True
    return changed


def _replace_members(store: ShopifyStore, product_set: ProductSet, product_ids: Iterable[int]) -> bool:
    wanted: set[int] = set()
    ids = list(dict.fromkeys(product_ids))
    for chunk in chunked(ids):
        wanted.update(
            Product.objects.for_tenant(store.tenant_id)
            .filter(store=store, shopify_product_id__in=chunk)
            .values_list("pk", flat=True)
        )
    current = set(ProductSetMembership.objects.filter(product_set=product_set).values_list("product_id", flat=True))
    gone, new = current - wanted, wanted - current
    for chunk in chunked(sorted(gone)):
        ProductSetMembership.objects.filter(product_set=product_set, product_id__in=chunk).delete()
    ProductSetMembership.objects.bulk_create(
        [ProductSetMembership(tenant_id=store.tenant_id, product_set=product_set, product_id=pk) for pk in sorted(new)],
        batch_size=500,
        ignore_conflicts=True,
    )
    return bool(gone or new)


def _refresh_filter(product_set: ProductSet) -> bool:
    """Set the Meta filter to the retailer ids of the members' live variants; True if it changed."""
    retailer_ids = sorted(
        Variant.objects.filter(
            product__set_memberships__product_set=product_set,
            removed_at__isnull=True,
            product__removed_at__isnull=True,
        ).values_list("retailer_id", flat=True)
    )
    new_filter = {"retailer_id": {"is_any": retailer_ids}}
    if product_set.filter == new_filter:
        return False
    product_set.filter = new_filter
    return True


def refresh_filters_for_products(product_pks: list[int]) -> int:
    """Recompute the filters of the sets containing these products (variants added or removed)."""
    set_pks: set[int] = set()
    for chunk in chunked(product_pks):
        set_pks.update(
            ProductSetMembership.objects.filter(product_id__in=chunk).values_list("product_set_id", flat=True)
        )
    changed = 0
    now = timezone.now()
    for product_set in ProductSet.objects.filter(pk__in=sorted(set_pks)):
        if _refresh_filter(product_set):
            product_set.updated_at = now
            product_set.save(update_fields=["filter", "updated_at"])
            changed += 1
    # Every set holding these products is looked at again by the product-set sync: a
    # variant that becomes sendable (or stops being) changes what Meta's filter names even
    # when the retailer ids stay the same. A look at an unchanged set costs no Meta call.
    for chunk in chunked(sorted(set_pks)):
        ProductSet.objects.filter(pk__in=chunk, needs_sync=False).update(needs_sync=True, changed_at=now)
    return changed


def mark_collections_removed(store: ShopifyStore, collection_ids: Iterable[int], when: datetime | None = None) -> int:
    """Mark the product sets of deleted collections; the sync engine deletes them in Meta."""
    catalog = store_catalog(store)
    if catalog is None:
        return 0
    ids = list(collection_ids)
    count = 0
    for chunk in chunked(ids):
        count += ProductSet.objects.filter(
            catalog=catalog, shopify_collection_id__in=chunk, removed_at__isnull=True
        ).update(
            removed_at=when or timezone.now(), needs_sync=True, changed_at=timezone.now(), updated_at=timezone.now()
        )
    return count


def remove_unseen_collections(store: ShopifyStore, seen_collection_ids: set[int]) -> int:
    """After a full import: collections no longer in Shopify are marked removed."""
    catalog = store_catalog(store)
    if catalog is None:
        return 0
    gone = [
        cid
        for cid in ProductSet.objects.filter(
            catalog=catalog, shopify_collection_id__isnull=False, removed_at__isnull=True
        ).values_list("shopify_collection_id", flat=True)
        if cid not in seen_collection_ids
    ]
    return mark_collections_removed(store, gone)
