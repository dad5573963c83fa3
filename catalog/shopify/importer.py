"""Import a store's catalog from the Admin API: paged GraphQL or a bulk operation.

Memory stays bounded whatever the catalog size: records are streamed (pages, or the
bulk JSONL line by line), written in batches, and the only thing kept for the whole
run is the ids seen (8 bytes each, in ``array('q')``) to find what disappeared.

Never inside a transaction: each batch commits on its own, Shopify is called between.
"""

from __future__ import annotations

import contextlib
import logging
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from catalog import item_state
from catalog.models import ImportRun, Product, ShopifyStore, Variant

from . import collections as collection_sets
from . import queries
from .bulk import group_collections, group_products
from .client import ShopifyClient
from .errors import ShopifyError, ShopifyUserError
from .records import ProductRecord, VariantRecord, collection_from_graphql, product_from_graphql
from .table_statistics import GrowthAnalyzer
from .upsert import UpsertResult, chunked, mark_products_removed, upsert_orphan_variants, upsert_products

logger = logging.getLogger(__name__)

# A batch is flushed at this many products or variants, whichever comes first: big
# enough for few round trips, small enough for flat memory on 2,048-variant products.
BATCH_PRODUCTS = 250
BATCH_VARIANTS = 5000
# Incremental imports look back a little before the last run, so a product updated
# while that run was reading is not missed.
INCREMENTAL_OVERLAP = timedelta(minutes=5)

Progress = Callable[[ImportRun], None]


class ImportAlreadyRunning(Exception):
    """Another import of this store is queued or running."""


@dataclass
class _Seen:
    products: array
    variants: array
    collections: set

    @classmethod
    def empty(cls) -> _Seen:
        return cls(array("q"), array("q"), set())


def start_import(
    store: ShopifyStore,
    *,
    mode: str = ImportRun.Mode.PAGED,
    trigger: str = ImportRun.Trigger.COMMAND,
    updated_since: datetime | None = None,
) -> ImportRun:
    """Create the run row (QUEUED); raise ImportAlreadyRunning if one is active for the store."""
    _expire_dead_runs(store)
    try:
        with transaction.atomic():
            return ImportRun.objects.create(
                tenant_id=store.tenant_id, store=store, mode=mode, trigger=trigger, updated_since=updated_since
            )
    except IntegrityError as exc:
        active = ImportRun.objects.filter(store=store).active().first()
        what = f"Import #{active.pk} is already {active.state}" if active else "Another import is active"
        raise ImportAlreadyRunning(f"{what} for {store.shop_domain}.") from exc


def _expire_dead_runs(store: ShopifyStore) -> None:
    """A run whose worker died keeps its row active forever: fail it after an hour of silence."""
    cutoff = timezone.now() - timedelta(hours=1)
    ImportRun.objects.filter(store=store, state=ImportRun.State.RUNNING, heartbeat_at__lt=cutoff).update(
        state=ImportRun.State.FAILED, error="No progress for an hour: the worker died.", finished_at=timezone.now()
    )
    ImportRun.objects.filter(
        store=store, state=ImportRun.State.QUEUED, created_at__lt=cutoff - timedelta(hours=5)
    ).update(state=ImportRun.State.FAILED, error="Never started.", finished_at=timezone.now())


def import_store(
    store: ShopifyStore,
    *,
    bulk: bool = False,
    trigger: str = ImportRun.Trigger.COMMAND,
    progress: Progress | None = None,
    client: ShopifyClient | None = None,
) -> ImportRun:
    """Start and run a full import of ``store`` (paged, or a bulk operation)."""
    run = start_import(store, mode=ImportRun.Mode.BULK if bulk else ImportRun.Mode.PAGED, trigger=trigger)
    return run_import(run, progress=progress, client=client)


def run_import(run: ImportRun, *, progress: Progress | None = None, client: ShopifyClient | None = None) -> ImportRun:
    """Run a QUEUED import to the end; the run row ends SUCCEEDED or FAILED (error kept) and is returned.

    Shopify errors are recorded on the run and re-raised for the caller to report.
    """
    store = run.store
    now = timezone.now()
    ImportRun.objects.filter(pk=run.pk).update(state=ImportRun.State.RUNNING, started_at=now, heartbeat_at=now)
    run.refresh_from_db()
    client = client or ShopifyClient.for_store(store)
    try:
        importer = _Importer(run, store, client, progress)
        importer.execute()
    except Exception as exc:
        ImportRun.objects.filter(pk=run.pk).update(
            state=ImportRun.State.FAILED, error=str(exc)[:5000] or exc.__class__.__name__, finished_at=timezone.now()
        )
        run.refresh_from_db()
        if progress:
            progress(run)
        raise
    ImportRun.objects.filter(pk=run.pk).update(state=ImportRun.State.SUCCEEDED, finished_at=timezone.now())
    run.refresh_from_db()
    if progress:
        progress(run)
    return run


class _Importer:
    def __init__(self, run: ImportRun, store: ShopifyStore, client: ShopifyClient, progress: Progress | None) -> None:
        self.run = run
        self.store = store
        self.client = client
        self.progress = progress
        self.seen = _Seen.empty()
        self.full = run.mode != ImportRun.Mode.INCREMENTAL
        self.statistics = GrowthAnalyzer()

    def execute(self) -> None:
        if self._refresh_shop():
            # Currency, brand fallback or storefront domain moved: every stored payload may
            # change. Refreshed before the products are read, not after: the variants this
            # import writes are mapped with the new shop values anyway, and a first import
            # (nothing stored yet) then costs nothing extra instead of a second pass over
            # every variant.
            changed = item_state.refresh_variants(Variant.objects.filter(product__store=self.store))
            self._count(variants_changed=changed)
        if self.run.mode == ImportRun.Mode.BULK:
            self._import_bulk()
        else:
            self._import_paged()
        if self.full:
            self._mark_disappeared()

    # -- shop -------------------------------------------------------------------------

    def _refresh_shop(self) -> bool:
        shop = self.client.shop()
        store = self.store
        values = {
            "name": (shop.get("name") or store.name)[:255],
            "currency": shop.get("currencyCode") or store.currency,
            "primary_domain_url": ((shop.get("primaryDomain") or {}).get("url") or store.primary_domain_url)[:500],
        }
        changed = any(getattr(store, k) != v for k, v in values.items())
        if changed:
            ShopifyStore.objects.filter(pk=store.pk).update(**values, updated_at=timezone.now())
            for key, value in values.items():
                setattr(store, key, value)
        return changed

    # -- paged ------------------------------------------------------------------------

    def _import_paged(self) -> None:
        search = None
        if self.run.updated_since:
            since = (self.run.updated_since - INCREMENTAL_OVERLAP).astimezone(UTC)
            search = f"updated_at:>'{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        total = self.client.products_count(search)
        if total is not None:
            ImportRun.objects.filter(pk=self.run.pk).update(products_total=total)
            self.run.products_total = total
        self._consume(self._paged_records(search))
        if self.full:
            self._import_collections_paged()

    def _paged_records(self, search: str | None) -> Iterator[tuple[ProductRecord, datetime]]:
        fetched_at = timezone.now()
        for node in self.client.iter_products(search=search, on_page=self._page_started):
            record = product_from_graphql(node)
            if record is not None:
                yield record, self._page_time or fetched_at

    _page_time: datetime | None = None

    def _page_started(self) -> None:
        self._page_time = timezone.now()

    def _import_collections_paged(self) -> None:
        for node in self.client.iter_collections():
            record = collection_from_graphql(node)
            if record is None:
                continue
            self.seen.collections.add(record.shopify_collection_id)
            members = list(self.client.iter_collection_product_ids(node["id"]))
            collection_sets.upsert_collection(self.store, record, members)
            self._count(collections_seen=1)
        collection_sets.remove_unseen_collections(self.store, self.seen.collections)

    # -- bulk -------------------------------------------------------------------------

    def _import_bulk(self) -> None:
        observed_at = timezone.now()
        operation = self._run_bulk(queries.BULK_PRODUCTS)
        if operation.get("rootObjectCount") is not None:
            total = int(operation["rootObjectCount"])
            ImportRun.objects.filter(pk=self.run.pk).update(products_total=total)
            self.run.products_total = total
        if operation.get("url"):
            lines = self.client.iter_jsonl(operation["url"])
            self._consume(self._bulk_records(lines, observed_at))
        # url is null when the shop has no products at all.
        self._import_collections_bulk()

    def _run_bulk(self, query: str) -> dict:
        try:
            operation_id = self.client.run_bulk_query(query)
        except ShopifyUserError as exc:
            if exc.code not in ("OPERATION_IN_PROGRESS", "LIMIT_REACHED"):
                raise
            # Only one import per store runs (ImportRun constraint), so a bulk query still
            # running is a leftover of a dead run: cancel it and start ours.
            current = self.client.current_bulk_operation()
            if current and current.get("status") in ("CREATED", "RUNNING"):
                self.client.cancel_bulk_operation(current["id"])
                with contextlib.suppress(ShopifyError):  # it ends CANCELED, which "fails" the wait
                    self.client.wait_for_bulk_operation(current["id"], timeout_seconds=120)
            operation_id = self.client.run_bulk_query(query)
        ImportRun.objects.filter(pk=self.run.pk).update(bulk_operation_id=operation_id, heartbeat_at=timezone.now())
        return self.client.wait_for_bulk_operation(operation_id, on_poll=self._bulk_polled)

    def _bulk_polled(self, operation: dict) -> None:
        ImportRun.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now())

    def _bulk_records(self, lines: Iterator[dict], observed_at: datetime) -> Iterator[tuple]:
        for grouped in group_products(lines):
            if grouped.product is not None:
                yield grouped.product, observed_at
            elif grouped.orphan_variant is not None:
                yield grouped.orphan_variant, observed_at

    def _import_collections_bulk(self) -> None:
        if collection_sets.store_catalog(self.store) is None:
            return
        operation = self._run_bulk(queries.BULK_COLLECTIONS)
        records, members = ([], {})
        if operation.get("url"):
            records, members = group_collections(self.client.iter_jsonl(operation["url"]))
        for record in records:
            self.seen.collections.add(record.shopify_collection_id)
            collection_sets.upsert_collection(self.store, record, members.get(record.shopify_collection_id, []))
        self._count(collections_seen=len(records))
        collection_sets.remove_unseen_collections(self.store, self.seen.collections)

    # -- batches ------------------------------------------------------------------------

    def _consume(self, records: Iterator[tuple]) -> None:
        batch: list[ProductRecord] = []
        orphans: list[VariantRecord] = []
        variants = 0
        batch_time: datetime | None = None
        for record, observed_at in records:
            batch_time = observed_at if batch_time is None else min(batch_time, observed_at)
            if isinstance(record, VariantRecord):
                self.seen.variants.append(record.shopify_variant_id)
                orphans.append(record)
                if len(orphans) >= BATCH_VARIANTS:
                    if batch:  # their products may still be in it: written first, or the orphans find none
                        self._flush(batch, batch_time)
                        batch, variants = [], 0
                    self._flush_orphans(orphans, batch_time)
                    orphans, batch_time = [], None
                continue
            self.seen.products.append(record.shopify_product_id)
            self.seen.variants.extend(v.shopify_variant_id for v in record.variants)
            batch.append(record)
            variants += len(record.variants)
            if len(batch) >= BATCH_PRODUCTS or variants >= BATCH_VARIANTS:
                self._flush(batch, batch_time)
                batch, variants, batch_time = [], 0, None
        if batch:
            self._flush(batch, batch_time)
        if orphans:
            self._flush_orphans(orphans, batch_time)

    def _flush(self, batch: list[ProductRecord], observed_at: datetime | None) -> None:
        result = upsert_products(self.store, batch, observed_at=observed_at, source="import")
        self.statistics.created_rows(result.products_created + result.variants_created)
        if result.variants_created or result.variants_updated:
            collection_sets.refresh_filters_for_products(result.product_pks)
        self._count_result(result, products=len(batch), variants=sum(len(r.variants) for r in batch))

    def _flush_orphans(self, orphans: list[VariantRecord], observed_at: datetime | None) -> None:
        result = upsert_orphan_variants(self.store, orphans, observed_at=observed_at, source="import")
        self.statistics.created_rows(result.variants_created)
        self._count_result(result, products=0, variants=len(orphans))

    def _count_result(self, result: UpsertResult, *, products: int, variants: int) -> None:
        self._count(
            products_seen=products,
            variants_seen=variants,
            products_created=result.products_created,
            products_updated=result.products_updated,
            variants_created=result.variants_created,
            variants_updated=result.variants_updated,
            variants_changed=result.variants_changed,
        )

    def _count(self, **increments: int) -> None:
        increments = {k: v for k, v in increments.items() if v}
        updates = {name: F(name) + value for name, value in increments.items()}
        ImportRun.objects.filter(pk=self.run.pk).update(**updates, heartbeat_at=timezone.now())
        for name, value in increments.items():
            setattr(self.run, name, getattr(self.run, name) + value)
        if self.progress:
            self.progress(self.run)

    # -- disappeared --------------------------------------------------------------------

    def _mark_disappeared(self) -> None:
        """Products and variants stored for this store but absent from a complete read of Shopify."""
        now = timezone.now()
        gone_products = _not_seen(
            Product.objects.filter(store=self.store, removed_at__isnull=True), "shopify_product_id", self.seen.products
        )
        removed_products, removed_variants = mark_products_removed(self.store, gone_products, now)

        gone_variants = _not_seen(
            Variant.objects.filter(
                product__store=self.store, removed_at__isnull=True, product__removed_at__isnull=True
            ),
            "shopify_variant_id",
            self.seen.variants,
        )
        touched_products: set[int] = set()
        for pks in chunked(gone_variants):
            with transaction.atomic():
                removed_variants += Variant.objects.filter(pk__in=pks).update(removed_at=now, updated_at=now)
                item_state.refresh_variants(Variant.objects.filter(pk__in=pks))
                touched_products.update(Variant.objects.filter(pk__in=pks).values_list("product_id", flat=True))
        if gone_products or touched_products:
            collection_sets.refresh_filters_for_products(sorted(touched_products | set(gone_products)))
        self._count(products_removed=removed_products, variants_removed=removed_variants)


def _contains(sorted_ids: array, value: int) -> bool:
    index = bisect_left(sorted_ids, value)
    return index < len(sorted_ids) and sorted_ids[index] == value


def _not_seen(stored: QuerySet, shopify_id_field: str, seen: Iterable[int]) -> list[int]:
    """Pks of the ``stored`` rows whose Shopify id a complete read did not see (streamed in pk order).

    The seen ids are searched as a sorted array of 8-byte ints by bisection: a big store's
    ids would take several times the memory as a set.
    """
    seen_ids = array("q", sorted(seen))
    rows = stored.values_list("pk", shopify_id_field).order_by("pk").iterator(chunk_size=2000)
    return [pk for pk, shopify_id in rows if not _contains(seen_ids, shopify_id)]


def latest_successful_run(store: ShopifyStore, *, full: bool | None = None) -> ImportRun | None:
    runs = ImportRun.objects.filter(store=store, state=ImportRun.State.SUCCEEDED)
    if full is True:
        runs = runs.exclude(mode=ImportRun.Mode.INCREMENTAL)
    return runs.order_by("-started_at").first()
