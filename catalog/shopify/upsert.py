"""Write Shopify product records into Product / Variant rows: in bulk, order-safe, idempotent.

Both the importer and the webhook processor go through :func:`upsert_products`:

- rows are compared with what is stored first, and only new or changed rows are written
  (``INSERT … ON CONFLICT DO UPDATE``, through ``COPY`` on PostgreSQL), so re-applying the same Shopify state writes
  nothing and marks nothing PENDING;
- an older ``updated_at`` never overwrites newer data (webhooks arrive out of order, and an
  import page may be older than a webhook processed meanwhile); a product deleted in
  Shopify stays deleted for any update older than the deletion; the comparison and the
  write are one step per store (:func:`lock_store`), so two writers at once (drains on
  two clusters, a drain and an import page) cannot write an older version last;
- stock levels carry their own time (``inventory_updated_at``): the moment the quantity was
  observed (page fetch, webhook trigger), because a product's ``updated_at`` does not move
  when only inventory changes;
- every changed variant then goes through ``catalog.item_state.refresh_variants`` which decides
  PENDING / FAILED / SYNCED from the Meta payload hash.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import ExpressionWrapper, F, TextField
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog import item_state, timeline
from catalog.bulk_values import column_in, key_chunks
from catalog.copy_upsert import InstanceBuilder, upsert_instances
from catalog.models import Product, ProductTombstone, ShopifyStore, Variant, VariantEvent, shard_key_for
from catalog.sync.push_requests import request_pushes
from galantis.chunks import in_chunks

from .records import ProductRecord, VariantRecord

logger = logging.getLogger(__name__)

# Ids per IN (...) lookup.
LOOKUP_CHUNK = 900
# The timeline's "Shopify change received" of a variant seen for the first time.
NEW_VARIANT_MESSAGE = gettext_noop("New variant")

PRODUCT_FIELDS = (
    *Product.SHOPIFY_CONTENT_FIELDS,
    "shopify_updated_at",
    "shopify_category_id",
    "shopify_category",
    "videos",
    "metafields",
)
# Product fields staff set (the Meta item reads them) and Shopify never writes.
PRODUCT_STAFF_FIELDS = tuple(
    f.attname
    for f in Product._meta.concrete_fields
    if f.attname
    not in {
        "id",
        "tenant_id",
        "store_id",
        "shopify_product_id",
        "shopify_observed_at",
        "removed_at",
        "created_at",
        "updated_at",
        *PRODUCT_FIELDS,
    }
)
# Product fields a source may not carry (records.ProductRecord: None): the stored value stays.
KEPT_WHEN_ABSENT = ("shopify_category_id", "shopify_category", "videos", "metafields")
_ABSENT_DEFAULTS = {"shopify_category_id": str, "shopify_category": str, "videos": list, "metafields": dict}
VARIANT_FIELDS = (
    "title",
    "sku",
    "options",
    "position",
    "price",
    "compare_at_price",
    "inventory_policy",
    "inventory_item_id",
    "image_url",
    "shopify_updated_at",
)


@dataclass
class UpsertResult:
    products_created: int = 0
    products_updated: int = 0
    products_stale: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    variants_removed: int = 0
    variants_changed: int = 0
    # Local pks of the products whose record was applied (changed or not).
    product_pks: list[int] = field(default_factory=list)
    # Shopify ids of the products whose record was not applied (older than stored, deleted).
    stale_product_ids: list[int] = field(default_factory=list)
    # The per-item timeline's "Shopify change received" of stored variants (catalog.timeline).
    variant_events: list = field(default_factory=list, repr=False)
    # Shopify ids of the variants this call inserted: their "Shopify change received" (new variant).
    created_variant_ids: list[int] = field(default_factory=list, repr=False)
    # Stored variants refreshed in memory and written with their data, to record once written.
    refreshed: list = field(default_factory=list, repr=False)
    # Those of them our checks failed at insert: their "Caught before sending" (never sent to Meta).
    created_invalid_ids: list[int] = field(default_factory=list, repr=False)


def chunked(values: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    """``values`` in chunks that fit one ``IN (...)`` lookup."""
    return in_chunks(values, size)


def _is_older(
    incoming: datetime | None,
    stored: datetime | None,
    incoming_observed: datetime | None = None,
    stored_observed: datetime | None = None,
) -> bool:
    """True when the incoming version is older than what we store.

    ``updated_at`` decides; with equal ``updated_at`` (Shopify counts in whole seconds)
    the version observed later wins, and the same state re-applied is a no-op anyway.
    """
    if incoming is None or stored is None:
        return False
    if incoming != stored:
        return incoming < stored
    return incoming_observed is not None and stored_observed is not None and incoming_observed < stored_observed


def newest_records(records: Iterable[ProductRecord], observed_at: datetime | None = None) -> dict[int, ProductRecord]:
    """The newest record of each product (``updated_at``, then reading time; a tie: the later one)."""
    by_id: dict[int, ProductRecord] = {}
    for record in records:
        previous = by_id.get(record.shopify_product_id)
        if previous is None or not _is_older(
            record.shopify_updated_at,
            previous.shopify_updated_at,
            record.observed_at or observed_at,
            previous.observed_at or observed_at,
        ):
            by_id[record.shopify_product_id] = record
    return by_id


def upsert_products(
    store: ShopifyStore,
    records: Iterable[ProductRecord],
    *,
    observed_at: datetime | None = None,
    remove_missing_variants: bool = False,
    refresh: bool = True,
    source: str = "shopify",
) -> UpsertResult:
    """Create or update the products and variants of ``records`` for ``store``.

    ``observed_at`` is when Shopify's state was read (page fetch, webhook trigger time);
    it orders stock levels. A record's own ``observed_at``, when set, replaces it for that
    record (a batch of webhooks). ``remove_missing_variants``: each record lists all of its
    product's variants, so stored variants missing from it were deleted in Shopify.
    ``source`` ("webhook", "import") is what the variants' timelines say the change came from.
    """
    observed_at = observed_at or timezone.now()
    by_id = newest_records(records, observed_at)
    result = UpsertResult()
    if not by_id:
        return result
    catalog_id = _catalog_id(store)
    now = timezone.now()
    with transaction.atomic():
        lock_store(store)
        applied, created, held = _upsert_product_rows(store, by_id, observed_at, now, result)
        if not applied:
            return result
        pk_by_product_id = dict(
            Product.objects.for_tenant(store.tenant_id)
            .filter(column_in(Product, "shopify_product_id", list(applied)))
            .values_list("shopify_product_id", "pk")
        )
        result.product_pks = list(pk_by_product_id.values())
        products_by_pk = _products_by_pk(pk_by_product_id, {**created, **held}) if refresh else None
        # Products whose own fields changed: every variant's item changes with them.
        changed_products = [pk_by_product_id[pid] for pid, changed in applied.items() if changed and pid not in created]
        refreshed_pks: set[int] = set()
        changed_variant_pks = _upsert_variant_rows(
            store,
            [by_id[pid] for pid in applied],
            pk_by_product_id,
            catalog_id,
            observed_at,
            now,
            result,
            products_by_pk,
            new_products=created.keys(),
            changed_products=set(changed_products),
            refreshed_pks=refreshed_pks,
        )
        if remove_missing_variants:
            applied_records = [by_id[pid] for pid in applied]
            changed_variant_pks += _remove_missing_variants(applied_records, pk_by_product_id, now, result)
        if catalog_id is not None:
            # Variants imported before the store had a catalog join it now (no payload change).
            # A product created just now has only the variants just inserted, with the catalog.
            known = [pk for pid, pk in pk_by_product_id.items() if pid not in created]
            for pks in chunked(known):
                Variant.objects.filter(product_id__in=pks, catalog__isnull=True).update(catalog_id=catalog_id)
        _record_shopify_changes(store, applied, pk_by_product_id, created, result, source, now)
        if result.refreshed:
            item_state.record_refreshed(result.refreshed)
            result.variants_changed += len(result.refreshed)
            result.refreshed = []
        if refresh:
            # New products have only new variants, already computed at insert; the variants
            # written above were refreshed with their data. What is left: variants of a
            # changed product that its record does not list, and removed ones.
            result.variants_changed += refresh_changed(changed_products, changed_variant_pks, skip=refreshed_pks)
    return result


def _record_shopify_changes(
    store: ShopifyStore,
    applied: dict[int, list[str]],
    pk_by_product_id: dict[int, int],
    created: dict[int, Product],
    result: UpsertResult,
    source: str,
    now: datetime,
) -> None:
    """Timeline: "Shopify change received" with the fields that changed, for each stored variant.

    Product-level changes reach every variant of the product: one INSERT ... SELECT per
    distinct set of changed fields (a webhook batch has a handful); variant-level changes
    were collected while comparing rows and are written in bulk. Variants inserted by this
    call (their pks unknown: the COPY upsert returns none) get one INSERT ... SELECT per
    chunk of Shopify ids, so an initial import of 5,000 variants costs 6 statements, not 5,000.
    """
    by_fields: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for product_id, fields in applied.items():
        said = tuple(f for f in fields if f != "product shopify_updated_at")  # a bare timestamp says nothing
        if said and product_id not in created:
            by_fields[said].append(pk_by_product_id[product_id])
    for fields, pks in by_fields.items():
        for chunk in chunked(pks):
            timeline.record_from(
                Variant.objects.filter(product_id__in=chunk, removed_at__isnull=True),
                VariantEvent.Kind.SHOPIFY,
                at=now,
                detail={"source": source, "fields": list(fields)},
            )
    for event in result.variant_events:
        event.detail["source"] = source
    timeline.record_rows(result.variant_events, at=now)
    result.variant_events = []
    # One statement for the whole call on PostgreSQL (the ids as one array), chunks elsewhere.
    for ids in key_chunks(result.created_variant_ids, LOOKUP_CHUNK):
        timeline.record_from(
            Variant.objects.for_tenant(store.tenant_id).filter(column_in(Variant, "shopify_variant_id", ids)),
            VariantEvent.Kind.SHOPIFY,
            at=now,
            detail={"source": source, "new": True},
            message=NEW_VARIANT_MESSAGE,
        )
    result.created_variant_ids = []
    # Refreshed in memory before the insert, so no refresh wrote why they cannot go to Meta.
    for ids in key_chunks(result.created_invalid_ids, LOOKUP_CHUNK):
        timeline.record_from(
            Variant.objects.for_tenant(store.tenant_id)
            .filter(column_in(Variant, "shopify_variant_id", ids))
            .filter(item_state.LOCALLY_FAILED),
            VariantEvent.Kind.INVALID,
            at=now,
            detail={"status": Variant.SyncStatus.FAILED},
            message=ExpressionWrapper(F("last_error"), output_field=TextField()),
        )
    result.created_invalid_ids = []


def _products_by_pk(pk_by_product_id: dict[int, int], built: dict[int, Product]) -> dict[int, Product]:
    """The applied products as instances, by pk: those built in memory as they are, the rest read.

    A product this call wrote holds exactly the values it was written with, and an unchanged
    one the values its row was read with, so reading either back (a tenth of an initial
    import's CPU, a twelfth of a webhook drain's) would give the same instance.
    """
    products: dict[int, Product] = {}
    for product_id, product in built.items():
        if (pk := pk_by_product_id.get(product_id)) is not None:
            product.pk = pk
            products[pk] = product
    unread = [pk for pk in pk_by_product_id.values() if pk not in products]
    for chunk in chunked(unread):
        products.update((p.pk, p) for p in Product.objects.filter(pk__in=chunk))
    return products


def upsert_orphan_variants(
    store: ShopifyStore, variants: list[VariantRecord], *, observed_at: datetime | None = None, source: str = "shopify"
) -> UpsertResult:
    """Apply variants whose product was written earlier (bulk lines far from their parent)."""
    observed_at = observed_at or timezone.now()
    result = UpsertResult()
    product_ids = sorted({v.shopify_product_id for v in variants})
    with transaction.atomic():
        lock_store(store)
        pk_by_product_id: dict[int, int] = {}
        for ids in chunked(product_ids):
            pk_by_product_id.update(
                Product.objects.filter(store=store, shopify_product_id__in=ids).values_list("shopify_product_id", "pk")
            )
        holder = ProductRecord(shopify_product_id=0, variants=variants)
        now = timezone.now()
        changed = _upsert_variant_rows(store, [holder], pk_by_product_id, _catalog_id(store), observed_at, now, result)
        _record_shopify_changes(store, {}, pk_by_product_id, {}, result, source, now)
        result.variants_changed += refresh_changed([], changed)
    return result


def lock_store(store: ShopifyStore) -> None:
    """Hold the store's row until the current transaction ends: one writer of its products at a time.

    Every write here compares the incoming version with the stored row first. Under
    PostgreSQL's READ COMMITTED, two transactions of one store (two webhook drains on two
    task clusters, a drain and an import page) each compared with the row as it was before
    the other committed, and the older version could be written last: the fault suite's
    ``webhook_burst`` on Redis with two clusters kept an older price on 43 of 200 variants
    whose newest event was PROCESSED (issue 15). Taken before the first read, so the
    reads see what the previous holder committed. ``FOR NO KEY UPDATE``: rows that
    reference the store (a webhook event stored meanwhile) take only KEY SHARE and do not
    wait. A no-op on SQLite, whose ``BEGIN IMMEDIATE`` already serialises writers.
    """
    list(ShopifyStore.objects.select_for_update(no_key=True).filter(pk=store.pk).values_list("pk", flat=True))


def _stored_rows(model, tenant_id: int, id_field: str, ids: list[int], fields: tuple[str, ...]) -> dict[int, dict]:
    """The tenant's stored rows of these Shopify ids (``id_field``) as dicts of ``fields``, by id."""
    rows: dict[int, dict] = {}
    # One array parameter on PostgreSQL (column_in): an IN list's values are each prepared by
    # Django and parsed by psycopg, ~40% of this read in a webhook drain's profile.
    stored = model.objects.for_tenant(tenant_id)
    for chunk in key_chunks(ids, LOOKUP_CHUNK):
        for row in stored.filter(column_in(model, id_field, chunk)).values(id_field, *fields):
            rows[row[id_field]] = row
    return rows


def _catalog_id(store: ShopifyStore) -> int | None:
    try:
        return store.catalog.pk
    except ShopifyStore.catalog.RelatedObjectDoesNotExist:
        return None


def _upsert_product_rows(
    store: ShopifyStore, by_id: dict[int, ProductRecord], observed_at: datetime, now: datetime, result: UpsertResult
) -> tuple[dict[int, bool], dict[int, Product], dict[int, Product]]:
    """Write new/changed products.

    Return ``{shopify_product_id: the fields that changed ([] when none)}`` of the applied
    records, the products created (unsaved instances with the values written, by Shopify id)
    and the other applied products as they now stand (instances with every field a Meta item
    reads: the values written or kept, and staff's own from the row), so nothing is read back.
    """
    existing = _stored_rows(
        Product,
        store.tenant_id,
        "shopify_product_id",
        list(by_id),
        ("pk", "store_id", "removed_at", "shopify_observed_at", *PRODUCT_FIELDS, *PRODUCT_STAFF_FIELDS),
    )
    tombstones: dict[int, datetime] = {}
    for ids in chunked([pid for pid in by_id if pid not in existing]):
        tombstones.update(
            ProductTombstone.objects.filter(store=store, shopify_product_id__in=ids).values_list(
                "shopify_product_id", "deleted_at"
            )
        )
    applied: dict[int, list[str]] = {}
    created: dict[int, Product] = {}
    held: dict[int, Product] = {}
    to_write: list[Product] = []
    new_product = InstanceBuilder.for_model(Product)
    for product_id, record in by_id.items():
        row = existing.get(product_id)
        values = {name: getattr(record, name) for name in PRODUCT_FIELDS}
        for name in KEPT_WHEN_ABSENT:
            if values[name] is None:
                values[name] = row[name] if row is not None else _ABSENT_DEFAULTS[name]()
        seen_at = record.observed_at or observed_at
        if row is not None:
            if _is_older(record.shopify_updated_at, row["shopify_updated_at"], seen_at, row["shopify_observed_at"]):
                result.products_stale += 1
                result.stale_product_ids.append(product_id)
                continue
            removed_at = row["removed_at"]
            if (
                removed_at is not None
                and record.shopify_updated_at is not None
                and record.shopify_updated_at <= removed_at
            ):
                # Deleted in Shopify after this version was written: the delete wins.
                result.products_stale += 1
                result.stale_product_ids.append(product_id)
                continue
            # The product fields that changed (truthy: the row changed), for the variants' timelines.
            changed = [f"product {name}" for name in PRODUCT_FIELDS if row[name] != values[name]]
            if row["store_id"] != store.pk or removed_at is not None:
                changed.append("product back in Shopify" if removed_at is not None else "product store")
            applied[product_id] = changed
            staff = {name: row[name] for name in PRODUCT_STAFF_FIELDS}
            if not changed:
                held[product_id] = new_product(
                    tenant_id=store.tenant_id,
                    store_id=row["store_id"],
                    shopify_product_id=product_id,
                    shopify_observed_at=row["shopify_observed_at"],
                    removed_at=removed_at,
                    **{name: row[name] for name in PRODUCT_FIELDS},
                    **staff,
                )
                continue
            result.products_updated += 1
        else:
            deleted_at = tombstones.get(product_id)
            if deleted_at is not None and (
                record.shopify_updated_at is None or record.shopify_updated_at <= deleted_at
            ):
                # Its delete overtook this older create/update: it stays deleted.
                result.products_stale += 1
                result.stale_product_ids.append(product_id)
                continue
            applied[product_id] = ["created"]
            result.products_created += 1
        product = new_product(
            tenant_id=store.tenant_id,
            store_id=store.pk,
            shopify_product_id=product_id,
            shopify_observed_at=seen_at,
            removed_at=None,
            updated_at=now,
            **values,
        )
        to_write.append(product)
        if row is None:
            created[product_id] = product
        else:
            # Staff's fields are not written (not in the upsert's fields), but the item reads them.
            for name, value in staff.items():
                setattr(product, name, value)
            held[product_id] = product
    if to_write:
        upsert_instances(
            Product,
            to_write,
            unique_fields=["tenant", "shopify_product_id"],
            update_fields=[*PRODUCT_FIELDS, "store", "shopify_observed_at", "removed_at", "updated_at"],
        )
    return applied, created, held


def _upsert_variant_rows(
    store: ShopifyStore,
    records: list[ProductRecord],
    pk_by_product_id: dict[int, int],
    catalog_id: int | None,
    observed_at: datetime,
    now: datetime,
    result: UpsertResult,
    products_by_pk: dict[int, Product] | None = None,
    new_products: Collection[int] = (),
    changed_products: Collection[int] = (),
    refreshed_pks: set[int] | None = None,
) -> list[int]:
    """Write new and changed variants; return the pks whose Meta payload must be recomputed.

    With ``products_by_pk``, variants get their payload hash and status computed in
    memory and written with their data (one write instead of write, read back, refresh
    and write again: that was half of a webhook drain's time): new variants, changed
    ones, and the unchanged ones of ``changed_products`` (local pks of products whose
    own fields changed). The pks of stored variants refreshed so are added to
    ``refreshed_pks`` and the changed ones left in ``result.refreshed``, for the caller
    to record once the rest is written. ``new_products``: Shopify ids of products this call created,
    whose variants cannot be stored yet and are not looked up (an initial import looks
    up nothing); should a concurrent webhook have stored one meanwhile, the insert's
    conflict clause updates it, as for any new variant.
    """
    incoming: dict[int, VariantRecord] = {}
    # Each variant's reading time: its record's own, else the call's.
    seen_at_by_id: dict[int, datetime] = {}
    for record in records:
        for variant in record.variants:
            incoming[variant.shopify_variant_id] = variant
            seen_at_by_id[variant.shopify_variant_id] = record.observed_at or observed_at
    if not incoming:
        return []
    in_memory = products_by_pk is not None
    existing = _stored_rows(
        Variant,
        store.tenant_id,
        "shopify_variant_id",
        [vid for vid, record in incoming.items() if record.shopify_product_id not in new_products],
        (
            "pk",
            "product_id",
            "retailer_id",
            "removed_at",
            "inventory_quantity",
            "inventory_tracked",
            "inventory_updated_at",
            "shopify_observed_at",
            *VARIANT_FIELDS,
            *(("catalog_id", *item_state.REFRESH_READS) if in_memory else ()),
        ),
    )
    to_write: list[Variant] = []
    new_rows: list[Variant] = []
    changed_pks: list[int] = []
    # Stored variants to refresh in memory: (pk, instance, written with its data).
    to_refresh: list[tuple[int, Variant, bool]] = []
    new_variant = InstanceBuilder.for_model(Variant)

    def refreshable(row: dict, instance: Variant, with_data: bool) -> None:
        for name in item_state.REFRESH_READS:
            setattr(instance, name, row[name])
        # A variant joins the store's catalog below (one UPDATE); its events and push say so now.
        instance.catalog_id = row["catalog_id"] or catalog_id
        instance.product = products_by_pk[instance.product_id]
        to_refresh.append((row["pk"], instance, with_data))

    for variant_id, record in incoming.items():
        product_pk = pk_by_product_id.get(record.shopify_product_id)
        if product_pk is None:
            continue
        values = {name: getattr(record, name) for name in VARIANT_FIELDS}
        seen_at = seen_at_by_id[variant_id]
        row = existing.get(variant_id)
        if row is None:
            retailer_id = str(variant_id)
            new_rows.append(
                new_variant(
                    tenant_id=store.tenant_id,
                    product_id=product_pk,
                    catalog_id=catalog_id,
                    shopify_variant_id=variant_id,
                    retailer_id=retailer_id,
                    shard_key=shard_key_for(retailer_id),
                    inventory_quantity=record.inventory_quantity,
                    inventory_tracked=True if record.inventory_tracked is None else record.inventory_tracked,
                    inventory_updated_at=seen_at,
                    shopify_observed_at=seen_at,
                    removed_at=None,
                    updated_at=now,
                    **values,
                )
            )
            result.variants_created += 1
            continue
        if _is_older(record.shopify_updated_at, row["shopify_updated_at"], seen_at, row["shopify_observed_at"]):
            continue
        # Stock: only a reading at least as recent as the stored one replaces it.
        quantity, inventory_at = row["inventory_quantity"], row["inventory_updated_at"]
        if record.inventory_quantity != quantity and not _is_older(seen_at, inventory_at):
            quantity, inventory_at = record.inventory_quantity, seen_at
        tracked = row["inventory_tracked"] if record.inventory_tracked is None else record.inventory_tracked
        same = (
            row["product_id"] == product_pk
            and row["removed_at"] is None
            and quantity == row["inventory_quantity"]
            and tracked == row["inventory_tracked"]
            and all(row[name] == values[name] for name in VARIANT_FIELDS)
        )
        # Unchanged itself, but its product's fields changed: only its state may be written.
        state_only = same and in_memory and product_pk in changed_products
        if same and not state_only:
            continue
        instance = new_variant(
            tenant_id=store.tenant_id,
            product_id=product_pk,
            shopify_variant_id=variant_id,
            retailer_id=row["retailer_id"],
            inventory_quantity=quantity,
            inventory_tracked=tracked,
            inventory_updated_at=inventory_at,
            shopify_observed_at=row["shopify_observed_at"] if same else seen_at,
            removed_at=None,
            updated_at=now,
            **values,
        )
        if state_only:
            refreshable(row, instance, False)
            continue
        result.variants_updated += 1
        if not in_memory:
            changed_pks.append(row["pk"])
        fields = [name for name in VARIANT_FIELDS if row[name] != values[name] and name != "shopify_updated_at"]
        fields += [
            name
            for name, old, new in (
                ("inventory_quantity", row["inventory_quantity"], quantity),
                ("inventory_tracked", row["inventory_tracked"], tracked),
                ("product", row["product_id"], product_pk),
            )
            if old != new
        ]
        if row["removed_at"] is not None:
            fields.append("back in Shopify")
        if fields:  # not a bare updated_at
            result.variant_events.append(
                timeline.Row(
                    tenant_id=store.tenant_id,
                    variant_id=row["pk"],
                    product_id=product_pk,
                    catalog_id=catalog_id,
                    kind=VariantEvent.Kind.SHOPIFY,
                    detail={"fields": fields},
                )
            )
        if in_memory:
            refreshable(row, instance, True)
        else:
            to_write.append(instance)
    data_fields = [
        "product",
        *VARIANT_FIELDS,
        "inventory_quantity",
        "inventory_tracked",
        "inventory_updated_at",
        "shopify_observed_at",
        "removed_at",
        "updated_at",
    ]
    # One write per set of fields: data alone, data and state, state alone (when only the
    # product changed); an unchanged state is never written back (a concurrent confirmation
    # or verdict may have changed it since the read).
    writes: dict[tuple[str, ...], list[Variant]] = defaultdict(list)
    if to_write:
        writes[tuple(data_fields)] = to_write
    if to_refresh:
        dirty = item_state.refresh_for_write([instance for _, instance, _ in to_refresh], store)
        dirty_ids = {id(instance) for instance in dirty}
        for _pk, instance, with_data in to_refresh:
            state = item_state.refreshed_fields(instance) if id(instance) in dirty_ids else ()
            if with_data or state:
                fields = (*data_fields, *state) if with_data else state
                writes[tuple(dict.fromkeys(fields))].append(instance)
        refreshed_pks.update(pk for pk, _, _ in to_refresh)
    for fields, instances in writes.items():
        upsert_instances(Variant, instances, unique_fields=["tenant", "shopify_variant_id"], update_fields=list(fields))
    if to_refresh:
        # Written without their pks (the conflict clause finds the rows): set for their events.
        for pk, instance, _ in to_refresh:
            instance.pk = pk
        result.refreshed.extend(instance for _, instance, _ in to_refresh if id(instance) in dirty_ids)
    if new_rows:
        prepared = products_by_pk is not None
        if prepared:
            for variant in new_rows:
                variant.product = products_by_pk[variant.product_id]
            result.variants_changed += len(item_state.refresh_in_memory(new_rows, store))
            result.created_invalid_ids.extend(
                v.shopify_variant_id
                for v in new_rows
                if v.meta_status == Variant.SyncStatus.FAILED and v.failure_source == Variant.FailureSource.LOCAL
            )
        # On a conflict (a concurrent webhook stored the variant meanwhile) our data and
        # its hash, computed together, replace the row's.
        upsert_instances(
            Variant,
            new_rows,
            unique_fields=["tenant", "shopify_variant_id"],
            update_fields=list(dict.fromkeys(data_fields + (item_state.REFRESH_FIELDS if prepared else []))),
        )
        result.created_variant_ids.extend(v.shopify_variant_id for v in new_rows)
        if prepared:  # refreshed in memory above, not by refresh_variants: ask for their push here
            request_pushes(v.catalog_id for v in new_rows if v.meta_status == Variant.SyncStatus.PENDING)
        if not prepared:
            for ids in chunked([v.shopify_variant_id for v in new_rows]):
                changed_pks.extend(
                    Variant.objects.for_tenant(store.tenant_id)
                    .filter(shopify_variant_id__in=ids)
                    .values_list("pk", flat=True)
                )
    return changed_pks


def _remove_missing_variants(
    records: list[ProductRecord],
    pk_by_product_id: dict[int, int],
    now: datetime,
    result: UpsertResult,
) -> list[int]:
    # One read and one write per chunk of products, not per product (a webhook batch).
    keep: dict[int, set[int]] = {}
    for record in records:
        product_pk = pk_by_product_id.get(record.shopify_product_id)
        if product_pk is not None:
            keep[product_pk] = {v.shopify_variant_id for v in record.variants}
    removed: list[int] = []
    for pks in chunked(sorted(keep)):
        gone = [
            pk
            for pk, product_pk, variant_id in Variant.objects.filter(
                product_id__in=pks, removed_at__isnull=True
            ).values_list("pk", "product_id", "shopify_variant_id")
            if variant_id not in keep[product_pk]
        ]
        for ids in chunked(gone):
            Variant.objects.filter(pk__in=ids).update(removed_at=now, updated_at=now)
        removed.extend(gone)
    result.variants_removed += len(removed)
    return removed


def refresh_changed(product_pks: list[int], variant_pks: list[int], *, skip: Collection[int] = ()) -> int:
    """Recompute the Meta payloads of all variants of changed products and of changed variants.

    ``skip``: variants already refreshed (in memory, written with their data), left out.
    """
    total = 0
    for pks in chunked(product_pks):
        variants = Variant.objects.filter(product_id__in=pks)
        if skip:
            # Their pks alone (an index read), so the rows already refreshed are not read again.
            rest = [pk for pk in variants.order_by().values_list("pk", flat=True) if pk not in skip]
            for part in chunked(rest):
                total += item_state.refresh_variants(Variant.objects.filter(pk__in=part))
            continue
        total += item_state.refresh_variants(variants)
    seen_products = set(product_pks)
    for pks in chunked(sorted(set(variant_pks))):
        qs = Variant.objects.filter(pk__in=pks)
        if seen_products:
            qs = qs.exclude(product_id__in=list(seen_products))
        total += item_state.refresh_variants(qs)
    return total


def mark_products_removed(store: ShopifyStore, product_pks: list[int], when: datetime) -> tuple[int, int]:
    """Mark products (and their variants) as gone from Shopify; return (products, variants) marked.

    Rows are kept: the sync engine hides their items (``visibility: staging``) and
    deletes them from Meta after its grace period.
    """
    products = variants = 0
    now = timezone.now()
    for pks in chunked(product_pks):
        with transaction.atomic():
            # An update compares its version with removed_at: it must not miss this delete.
            lock_store(store)
            products += Product.objects.filter(pk__in=pks, removed_at__isnull=True).update(
                removed_at=when, updated_at=now
            )
            variants += Variant.objects.filter(product_id__in=pks, removed_at__isnull=True).update(
                removed_at=when, updated_at=now
            )
            item_state.refresh_variants(Variant.objects.filter(product_id__in=pks))
    return products, variants
