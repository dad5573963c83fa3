"""What each Shopify webhook topic does to our data (``HANDLERS``), applied by the drain.

Each handler applies one stored event through the same services the importer uses
(order-safe upserts, tombstones for deletes that overtake creates, stock levels with their
own time); one that needs no change raises :class:`Ignored`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog import item_state, timeline
from catalog.models import Catalog, ProductTombstone, ShopifyStore, Variant, VariantEvent, WebhookEvent
from catalog.sync import pause
from conversions.orders import record_paid_order

from . import collections as collection_sets
from .client import ShopifyClient, gid_number
from .connect import UNINSTALLED_REASON
from .records import (
    ProductRecord,
    collection_from_graphql,
    collection_from_rest,
    product_from_graphql,
    product_from_rest,
    quantity,
)
from .upsert import mark_products_removed, upsert_products

logger = logging.getLogger(__name__)


# Tombstones of products deleted before we stored them outlive any late delivery by far.
TOMBSTONE_DAYS = timedelta(days=7)


def parse_time(value: str | None) -> datetime | None:
    """A Shopify timestamp (a header or a payload field) as a datetime; None if absent or unreadable."""
    if not value:
        return None
    try:
        return parse_datetime(value.strip())
    except ValueError:
        return None


class Ignored(Exception):
    """The event needs no change (older than stored data, unknown object): state IGNORED."""


class Context:
    """One event being applied: its row, its parsed payload, and a Shopify client made on first use."""

    def __init__(self, event: WebhookEvent, payload: dict, client: ShopifyClient | None) -> None:
        self.event = event
        self.store = event.store
        self.payload = payload
        self._client = client

    @property
    def client(self) -> ShopifyClient:
        if self._client is None:
            self._client = ShopifyClient.for_store(self.store)
        return self._client

    @property
    def event_time(self) -> datetime:
        """When Shopify fired the event (retries keep it), else when we received it."""
        return self.event.triggered_at or self.event.received_at


def needs_admin_api(payload: dict, record: ProductRecord, known: set[int]) -> bool:
    """True when the payload cannot be applied alone and the product must be read from Shopify.

    It lists fewer variants than the product has, or has new variants without the
    inventory tracking flag (2024-10+ payloads omit it, and "not tracked" means "in
    stock" for Meta). ``known``: the stored variant ids (among those listed).
    """
    listed = {v.shopify_variant_id for v in record.variants}
    all_ids = {
        gid_number(v.get("admin_graphql_api_id")) for v in payload.get("variant_gids") or [] if isinstance(v, dict)
    }
    all_ids.discard(None)
    untracked_unknown = any(v.inventory_tracked is None and v.shopify_variant_id not in known for v in record.variants)
    return bool(all_ids - listed) or untracked_unknown


def _products_upsert(ctx: Context) -> str:
    record = product_from_rest(ctx.payload)
    if record is None:
        raise Ignored("No product id in the payload.")
    observed_at = ctx.event_time
    known = set(
        Variant.objects.for_tenant(ctx.store.tenant_id)
        .filter(shopify_variant_id__in=sorted({v.shopify_variant_id for v in record.variants}))
        .values_list("shopify_variant_id", flat=True)
    )
    if needs_admin_api(ctx.payload, record, known):
        # Read the product from the Admin API.
        node = ctx.client.product(record.shopify_product_id)
        if node is None:
            raise Ignored("The product no longer exists in Shopify.")
        record = product_from_graphql(node)
        observed_at = timezone.now()
    result = upsert_products(
        ctx.store, [record], observed_at=observed_at, remove_missing_variants=True, source="webhook"
    )
    if result.products_stale:
        raise Ignored("Older than the stored product (updated_at); not applied.")
    if result.variants_created or result.variants_removed:
        collection_sets.refresh_filters_for_products(result.product_pks)
    return (
        f"product {record.shopify_product_id}: {result.variants_created} variants created, "
        f"{result.variants_updated} updated, {result.variants_removed} removed, "
        f"{result.variants_changed} changed for Meta"
    )


def _products_delete(ctx: Context) -> str:
    product_id = ctx.payload.get("id")
    if not isinstance(product_id, int):
        product_id = gid_number(product_id)
    pks = list(ctx.store.products.filter(shopify_product_id=product_id).values_list("pk", flat=True))
    if not pks:
        if product_id is None:
            raise Ignored("No product id in the payload.")
        # Its create may still be on its way (no ordering guarantee): remember the delete.
        ProductTombstone.objects.update_or_create(
            store=ctx.store,
            shopify_product_id=product_id,
            defaults={"tenant_id": ctx.store.tenant_id, "deleted_at": ctx.event_time},
        )
        return f"product {product_id} not stored yet: tombstone kept so a late create does not revive it"
    products, variants = mark_products_removed(ctx.store, pks, ctx.event_time)
    collection_sets.refresh_filters_for_products(pks)
    if not products:
        raise Ignored(f"Product {product_id} was already removed.")
    return f"product {product_id} removed ({variants} variants)"


def _inventory_level(ctx: Context) -> str:
    item_id = ctx.payload.get("inventory_item_id")
    variants = Variant.objects.for_tenant(ctx.store.tenant_id).filter(
        product__store=ctx.store, inventory_item_id=item_id
    )
    if not item_id or not variants.exists():
        raise Ignored(f"Inventory item {item_id} belongs to no known variant.")
    # `available` is one location's quantity; Meta needs the variant's total over all
    # locations, so read it (current, hence newer than anything stored).
    observed_at = timezone.now()
    item = ctx.client.inventory_item(item_id)
    if not item or not item.get("variant"):
        raise Ignored(f"Inventory item {item_id} no longer exists in Shopify.")
    return _apply_stock(variants, item, observed_at)


def _apply_stock(variants, item: dict, observed_at: datetime) -> str:
    total = quantity(item["variant"].get("inventoryQuantity"))
    tracked = item.get("tracked")
    updates = {"inventory_quantity": total, "inventory_updated_at": observed_at, "updated_at": timezone.now()}
    if tracked is not None:
        updates["inventory_tracked"] = bool(tracked)
    with transaction.atomic():
        newer = variants.filter(Q(inventory_updated_at__isnull=True) | Q(inventory_updated_at__lte=observed_at))
        # Locked, so a concurrent drain's older stock waits and then re-reads the newer time
        # (PostgreSQL re-checks the filter on rows it waited for): never written last.
        pks = list(newer.select_for_update(of=("self",)).values_list("pk", flat=True))
        changed_stock = Variant.objects.filter(pk__in=pks).exclude(inventory_quantity=total)
        timeline.record_from(
            changed_stock, VariantEvent.Kind.SHOPIFY, detail={"source": "webhook", "fields": ["inventory_quantity"]}
        )
        Variant.objects.filter(pk__in=pks).update(**updates)
        changed = item_state.refresh_variants(Variant.objects.filter(pk__in=pks))
    return f"stock {total} on {len(pks)} variant(s), {changed} changed for Meta"


def _inventory_item(ctx: Context) -> str:
    item_id = ctx.payload.get("id")
    if "tracked" not in ctx.payload:
        raise Ignored("No tracked flag in the payload.")
    variants = Variant.objects.for_tenant(ctx.store.tenant_id).filter(
        product__store=ctx.store, inventory_item_id=item_id
    )
    pks = list(variants.exclude(inventory_tracked=bool(ctx.payload["tracked"])).values_list("pk", flat=True))
    if not pks:
        raise Ignored(f"Inventory item {item_id}: nothing to change.")
    with transaction.atomic():
        timeline.record_from(
            Variant.objects.filter(pk__in=pks),
            VariantEvent.Kind.SHOPIFY,
            detail={"source": "webhook", "fields": ["inventory_tracked"]},
        )
        Variant.objects.filter(pk__in=pks).update(
            inventory_tracked=bool(ctx.payload["tracked"]), updated_at=timezone.now()
        )
        changed = item_state.refresh_variants(Variant.objects.filter(pk__in=pks))
    return f"tracked={bool(ctx.payload['tracked'])} on {len(pks)} variant(s), {changed} changed for Meta"


def _collection_upsert(ctx: Context) -> str:
    record = collection_from_rest(ctx.payload)
    if record is None:
        raise Ignored("No collection id in the payload.")
    if collection_sets.store_catalog(ctx.store) is None:
        raise Ignored("The store has no catalog to hold product sets.")
    # Collection payloads carry no membership: read it (and the current title) from the API.
    node = ctx.client.collection(record.shopify_collection_id)
    if node is None:
        raise Ignored(f"Collection {record.shopify_collection_id} no longer exists in Shopify.")
    record = collection_from_graphql(node) or record
    members = list(ctx.client.iter_collection_product_ids(record.shopify_collection_id))
    product_set = collection_sets.upsert_collection(ctx.store, record, members)
    return f"product set {product_set.pk if product_set else '-'} with {len(members)} product(s)"


def _collection_delete(ctx: Context) -> str:
    collection_id = ctx.payload.get("id")
    if not isinstance(collection_id, int):
        collection_id = gid_number(collection_id)
    if not collection_sets.mark_collections_removed(ctx.store, [collection_id], ctx.event_time):
        raise Ignored(f"Collection {collection_id} has no live product set.")
    return f"collection {collection_id} removed"


def _app_uninstalled(ctx: Context) -> str:
    when = ctx.event_time
    ShopifyStore.objects.filter(pk=ctx.store.pk).update(uninstalled_at=when, updated_at=timezone.now())
    reason = (
        f"{UNINSTALLED_REASON} from {ctx.store.shop_domain} on {when:%Y-%m-%d %H:%M} UTC. "
        "Reinstall it and reconnect the store (connect_shopify) to resume syncing."
    )
    paused = 0
    for catalog in Catalog.objects.filter(store=ctx.store):
        # A pause of its own kind: the catalog stays switched on, and only a reconnect lifts it.
        pause.pause(catalog, Catalog.PauseKind.UNINSTALLED, reason)
        paused += 1
    return f"store marked uninstalled; {paused} catalog(s) paused"


def _shop_update(ctx: Context) -> str:
    store = ctx.store
    values = {
        "name": str(ctx.payload.get("name") or store.name)[:255],
        "currency": str(ctx.payload.get("currency") or store.currency)[:3],
    }
    domain = ctx.payload.get("domain")
    if domain:
        values["primary_domain_url"] = f"https://{domain}"[:500]
    if all(getattr(store, k) == v for k, v in values.items()):
        raise Ignored("Nothing we use changed.")
    ShopifyStore.objects.filter(pk=store.pk).update(**values, updated_at=timezone.now())
    changed = item_state.refresh_variants(Variant.objects.filter(product__store=store))
    return f"shop updated; {changed} variant(s) changed for Meta"


def _order_paid(ctx: Context) -> str:
    """Hand a paid order to the Conversions API app (one Purchase event per order)."""
    outcome = record_paid_order(ctx.store, ctx.payload, webhook_event_id=ctx.event.pk)
    if not outcome.queued:
        raise Ignored(outcome.note)
    return outcome.note


HANDLERS: dict[str, Callable[[Context], str]] = {
    "products/create": _products_upsert,
    "products/update": _products_upsert,
    "products/delete": _products_delete,
    "inventory_levels/update": _inventory_level,
    "inventory_items/update": _inventory_item,
    "collections/create": _collection_upsert,
    "collections/update": _collection_upsert,
    "collections/delete": _collection_delete,
    "app/uninstalled": _app_uninstalled,
    "shop/update": _shop_update,
    "orders/paid": _order_paid,
}
