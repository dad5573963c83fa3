"""Product sets in Meta: each Shopify collection (and each staff-defined filter) as a Meta product set.

A set waiting for a write carries ``needs_sync`` (set by collection webhooks and imports,
membership and product changes, admin edits, removals). A run takes those sets one by
one, each claimed by a conditional UPDATE so two workers never write the same set:

* **What Meta gets.** ``name``; ``filter``: ``retailer_id is_any`` the retailer ids of
  the collection's sendable variants *that Meta holds* (accepted once), or
  ``retailer_product_group_id is_any`` their products when that list is shorter;
  ``metadata``: ``cover_image_url`` (the collection's image, else its first product's),
  ``external_url`` (the collection on the shop's primary domain) and a plain-text
  ``description``; ``retailer_id``: our marker (:attr:`ProductSet.meta_marker`);
  ``publish_to_shops`` with the catalog's Meta shop when staff turned it on (``[]`` once
  to take a published set back). An unchanged request (same hash as the last one Meta
  accepted) costs no call.
* **After the items.** A set whose new variants are still on their way to Meta waits for them
  (up to :data:`MAX_WAIT_FOR_ITEMS`), so it never names items Meta does not hold yet;
  after that it names those Meta holds and stays queued until the rest arrive.
* **Empty.** A collection with no item in Meta gets a filter no item matches
  (:data:`EMPTY_FILTER`), never an empty filter, which Meta reads as *every* item, and
  never an empty ``is_any`` list, which Meta's documentation does not say it accepts.
* **No duplicates.** An error response does not mean the set was not created (seed
  004). A create starts by looking for a set carrying our marker
  (``GET /{catalog}/product_sets?retailer_id=``), is sent once without the client's
  automatic retries, and any error is followed by the same read-back (then by name, for
  a set that lost its marker) before anything is sent again.
* **Deletion.** A removed collection's set is deleted (``DELETE /{id}``). When Meta
  refuses because the set is live in a shop, it is kept and flagged
  (``deletion_blocked_at``) until staff confirm in the admin; only then is
  ``allow_live_product_set_deletion=true`` sent.
* **Rate limits.** Calls go through the catalog's Graph client and its throttle (the
  catalog management bucket); a rate limit or an outage ends the run and pauses the
  catalog as item pushes do, keeping every queued set.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from catalog.graph_clients import client_for
from catalog.items import DESCRIPTION_MAX
from catalog.meta.client import GraphClient
from catalog.meta.errors import AuthError, GraphAPIError, InvalidRequest, PermissionDenied, RateLimited, TransientError
from catalog.models import Catalog, ProductSet, ProductSetMembership, Variant
from galantis import logcontext

from . import pause
from .run_report import CatalogRunReport
from .schedule import RECHECK_AFTER
from .writes import write_refusal

logger = logging.getLogger(__name__)

# A set waits this long for its items to reach Meta before it names only those that did
# (a burst of new products is normally SYNCED within a few minutes).
MAX_WAIT_FOR_ITEMS = timedelta(minutes=30)
# Writes per run and catalog: the catalog management quota is shared with the verdict
# polls and diagnostics; the rest waits for the next run (a few minutes later).
MAX_WRITES_PER_RUN = 100
# Values in one is_any list. Meta documents no limit (unverified); a 50,000-product
# collection fits by product group ids. Beyond this the set fails with a clear message
# instead of sending a request Meta may refuse or truncate.
MAX_FILTER_VALUES = 100_000
# A filter no item matches: the set of a collection with nothing in Meta.
EMPTY_FILTER = {"retailer_id": {"eq": "galantis-empty-product-set"}}
# A claim left by a worker that died is taken over after this.
CLAIM_TTL = timedelta(minutes=10)
PRODUCT_SET_FIELDS = "id,name,retailer_id,product_count"
NOT_FOUND_SUBCODE = 33


@dataclass
class SetPlan:
    """What Meta should hold for one set."""

    params: dict
    item_count: int | None = None
    waiting: int = 0  # sendable items not in Meta yet (PENDING)
    problem: str = ""  # why it cannot be sent as wanted (kept as sync_error)
    sendable: bool = True  # False: nothing is sent (problem says why)

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.params, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class SetSyncReport(CatalogRunReport):
    """The outcome of one product-set run on one catalog."""

    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    unchanged: int = 0
    waiting: list[int] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped_reason: str = ""

    @property
    def writes(self) -> int:
        return len(self.created) + len(self.updated) + len(self.deleted)


# -- what Meta should hold -----------------------------------------------------------------


def member_variants(product_set: ProductSet):
    """The collection's sendable variants in the set's catalog (not removed, not excluded)."""
    return Variant.objects.for_tenant(product_set.tenant_id).filter(
        catalog_id=product_set.catalog_id,
        product__set_memberships__product_set=product_set,
        removed_at__isnull=True,
        product__removed_at__isnull=True,
        excluded=False,
    )


def collection_filter(product_set: ProductSet) -> tuple[dict, int, int]:
    """Meta's filter for a collection set, the items it names and how many wait for Meta.

    Named: the members Meta holds a version of (accepted once, not deleted since, as
    ``push.held_by_meta``), a changed item still PENDING included; not those caught by our
    own checks, which Meta holds hidden. Waiting: new items PENDING that Meta never had.
    """
    retailer_ids: list[str] = []
    groups: set[int] = set()
    waiting = 0
    rows = member_variants(product_set).values_list(
        "retailer_id",
        "product__shopify_product_id",
        "meta_status",
        "failure_source",
        "synced_hash",
        "meta_item_id",
        "meta_deleted_at",
    )
    for retailer_id, group, status, source, synced_hash, item_id, deleted_at in rows.order_by("retailer_id").iterator(
        chunk_size=5000
    ):
        held = bool(synced_hash or item_id) and deleted_at is None
        if held and not (status == Variant.SyncStatus.FAILED and source == Variant.FailureSource.LOCAL):
            retailer_ids.append(retailer_id)
            groups.add(group)
        elif status == Variant.SyncStatus.PENDING and not held:
            waiting += 1
        # Otherwise Meta does not show it (rejected, hidden): it joins once Meta accepts it.
    if not retailer_ids:
        return EMPTY_FILTER, 0, waiting
    if len(groups) < len(retailer_ids):
        # items.meta_item: item_group_id is the Shopify product id.
        return {"retailer_product_group_id": {"is_any": [str(g) for g in sorted(groups)]}}, len(retailer_ids), waiting
    return {"retailer_id": {"is_any": retailer_ids}}, len(retailer_ids), waiting


def filter_size(product_filter: dict) -> int:
    """How many values the filter's lists carry (for :data:`MAX_FILTER_VALUES`)."""
    total = 0
    stack: list = [product_filter]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            total += len(value)
            stack.extend(v for v in value if isinstance(v, dict | list))
    return total


def metadata_for(product_set: ProductSet, catalog: Catalog) -> dict:
    """Meta's ``metadata``: cover image, the collection's page on the shop's primary domain, plain text."""
    metadata: dict[str, str] = {}
    cover = product_set.image_url
    if not cover and product_set.is_collection:
        first = (
            ProductSetMembership.objects.filter(product_set=product_set, product__removed_at__isnull=True)
            .order_by("pk")
            .values_list("product__images", flat=True)
            .first()
        )
        cover = (first[0].get("src", "") if first and isinstance(first[0], dict) else "") if first else ""
    if cover:
        metadata["cover_image_url"] = cover
    store = catalog.store if catalog.store_id else None
    if product_set.handle and store is not None:
        metadata["external_url"] = f"{store.storefront_url}/collections/{product_set.handle}"
    if product_set.description:
        metadata["description"] = product_set.description[:DESCRIPTION_MAX]
    return metadata


def plan(product_set: ProductSet, catalog: Catalog) -> SetPlan:
    """The request that makes Meta's set what ours is (create and update take the same)."""
    params: dict = {"name": product_set.name[:255], "retailer_id": product_set.meta_marker}
    result = SetPlan(params)
    if product_set.is_collection:
        product_filter, result.item_count, result.waiting = collection_filter(product_set)
    else:
        product_filter = product_set.filter
        if not product_filter:
            # An empty filter is every item in Meta: never sent by accident.
            result.sendable, result.problem = False, "A staff-defined set needs a filter."
            return result
    if filter_size(product_filter) > MAX_FILTER_VALUES:
        result.sendable = False
        result.problem = (
            f"The filter would list more than {MAX_FILTER_VALUES:,} values, more than one product set can safely "
            "carry. Split the collection, or define a set by a shorter filter (brand, product type, label)."
        )
        return result
    params["filter"] = product_filter
    params["metadata"] = metadata_for(product_set, catalog)
    if product_set.publish_to_shops:
        if catalog.meta_shop_id:
            params["publish_to_shops"] = [{"shop_id": catalog.meta_shop_id}]
        else:
            result.problem = "Not published: the catalog has no Meta shop id (Catalog → Meta → Meta shop id)."
            if product_set.published_shop_id:
                params["publish_to_shops"] = []
    elif product_set.published_shop_id:
        params["publish_to_shops"] = []  # published before: take it back out of the shop
    return result


# -- the run -------------------------------------------------------------------------------


def due_sets(catalog: Catalog, now=None):
    """Sets of the catalog waiting for a write, oldest change first."""
    now = now or timezone.now()
    return (
        ProductSet.objects.for_tenant(catalog.tenant_id)
        .filter(catalog=catalog, needs_sync=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("changed_at", "pk")
    )


def queue_rechecks(catalog: Catalog, now=None) -> int:
    """Queue the sets not looked at for :data:`RECHECK_AFTER` (a look at an unchanged set costs no call)."""
    now = now or timezone.now()
    return (
        ProductSet.objects.for_tenant(catalog.tenant_id)
        .filter(catalog=catalog, needs_sync=False)
        .filter(Q(synced_at__isnull=True) | Q(synced_at__lt=now - RECHECK_AFTER))
        .update(needs_sync=True, changed_at=now)
    )


def claim(product_set: ProductSet, now=None) -> bool:
    """Take the set for this worker (conditional UPDATE); False when another worker holds it."""
    now = now or timezone.now()
    taken = (
        ProductSet.objects.filter(pk=product_set.pk)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_TTL)
    )
    return bool(taken)


def _release(product_set: ProductSet, **fields) -> None:
    ProductSet.objects.filter(pk=product_set.pk).update(claimed_until=None, **fields)


@logcontext.for_catalog
def sync_product_sets(
    catalog: Catalog,
    *,
    client: GraphClient | None = None,
    wait_for_items: bool = True,
    limit: int = MAX_WRITES_PER_RUN,
) -> SetSyncReport:
    """Bring the catalog's product sets in Meta up to date (bounded: ``limit`` writes).

    ``wait_for_items``: a set whose items are still PENDING waits for them (up to
    :data:`MAX_WAIT_FOR_ITEMS`); ``sync_catalog --wait`` passes False after its items
    were confirmed, to send what Meta holds now.
    """
    report = SetSyncReport(catalog.pk)
    if refusal := write_refusal(catalog):
        report.skipped_reason = refusal
        return report
    client = client or client_for(catalog)
    queue_rechecks(catalog)
    for product_set in due_sets(catalog).select_related("catalog").iterator(chunk_size=200):
        if report.writes >= limit:
            break
        if not claim(product_set):
            continue
        try:
            _sync_one(catalog, product_set, client, report, wait_for_items=wait_for_items)
        except (RateLimited, TransientError, AuthError, PermissionDenied) as error:
            _release(product_set, sync_error=f"{error.code_label}: {error.message}"[:2000])
            pause.pause_for_error(catalog, error)
            report.skipped_reason = f"paused: {catalog.paused_reason}"
            break
        except GraphAPIError as error:
            report.failed.append(product_set.pk)
            # Meta refused this request as it is: kept queued for the next change, not retried in a loop.
            _release(
                product_set,
                needs_sync=False,
                synced_at=timezone.now(),
                sync_error=f"Meta refused the product set ({error.code_label}): {error.message}"[:2000],
            )
        except BaseException:
            _release(product_set)
            raise
    if report.writes:
        pause.note_success(catalog)
        refresh_meta_counts(catalog, client)
    return report


def _sync_one(
    catalog: Catalog, product_set: ProductSet, client: GraphClient, report: SetSyncReport, *, wait_for_items: bool
) -> None:
    now = timezone.now()
    if product_set.removed_at is not None:
        _delete(catalog, product_set, client, report)
        return
    wanted = plan(product_set, catalog)
    if not wanted.sendable:
        report.failed.append(product_set.pk)
        _release(product_set, needs_sync=False, synced_at=now, sync_error=wanted.problem)
        return
    changed_at = product_set.changed_at or now
    if wanted.waiting and wait_for_items and now - changed_at < MAX_WAIT_FOR_ITEMS:
        report.waiting.append(product_set.pk)
        _release(product_set, sync_error=f"Waiting for {wanted.waiting} item(s) to reach Meta.")
        return
    digest = wanted.digest
    if product_set.meta_product_set_id and digest == product_set.synced_hash:
        report.unchanged += 1
    elif product_set.meta_product_set_id:
        try:
            client.post(product_set.meta_product_set_id, wanted.params, as_json=settings.META_POST_JSON)
        except InvalidRequest as error:
            if error.subcode != NOT_FOUND_SUBCODE:
                raise
            # Deleted in Meta (Commerce Manager): create it again.
            logger.warning("Product set %s is gone from Meta; creating it again", product_set.pk)
            product_set.meta_product_set_id = _create(catalog, product_set, wanted.params, client)
            report.created.append(product_set.pk)
        else:
            report.updated.append(product_set.pk)
    else:
        product_set.meta_product_set_id = _create(catalog, product_set, wanted.params, client)
        report.created.append(product_set.pk)
    published = wanted.params.get("publish_to_shops")
    shop_id = published[0]["shop_id"] if published else ("" if published == [] else product_set.published_shop_id)
    # Items still on their way keep the set queued: it names them once Meta holds them.
    still_queued = bool(wanted.waiting)
    waiting_note = f"Waiting for {wanted.waiting} item(s) to reach Meta." if still_queued else ""
    fields = {
        "meta_product_set_id": product_set.meta_product_set_id,
        "synced_hash": digest,
        "item_count": wanted.item_count,
        "published_shop_id": shop_id,
        "sync_error": wanted.problem or waiting_note,
        "synced_at": now,
    }
    # needs_sync is cleared only if nothing changed since this run read the set.
    ProductSet.objects.filter(pk=product_set.pk).update(claimed_until=None, **fields)
    if not still_queued:
        ProductSet.objects.filter(pk=product_set.pk, changed_at=product_set.changed_at).update(needs_sync=False)


def _create(catalog: Catalog, product_set: ProductSet, params: dict, client: GraphClient) -> str:
    """Create the set in Meta exactly once: look first, send once, read back after any error."""
    found = find_in_meta(catalog, product_set, client)
    if found:
        client.post(found, params, as_json=settings.META_POST_JSON)
        return found
    once = client_for(catalog, max_retries=0)  # a retried POST could create a second set
    try:
        body = once.post(f"{catalog.meta_catalog_id}/product_sets", params, as_json=settings.META_POST_JSON)
    except GraphAPIError as error:
        found = find_in_meta(catalog, product_set, client, by_name=True)
        if not found:
            raise
        logger.warning(
            "Product set %s: Meta answered %s but had created it (%s); adopted", product_set.pk, error.code_label, found
        )
        client.post(found, params, as_json=settings.META_POST_JSON)
        return found
    set_id = str(body.get("id") or "")
    if not set_id:
        found = find_in_meta(catalog, product_set, client, by_name=True)
        if not found:
            raise TransientError("Meta created a product set without answering its id")
        set_id = found
    # Keep the id at once: a crash from here on must not create the set again.
    ProductSet.objects.filter(pk=product_set.pk).update(meta_product_set_id=set_id)
    return set_id


def find_in_meta(catalog: Catalog, product_set: ProductSet, client: GraphClient, *, by_name: bool = False) -> str:
    """The id of the Meta set that is ours ("" if none): by our marker, then (``by_name``) by name.

    Sets carrying our marker beyond the first (left by an earlier lost answer) are deleted.
    A name match is taken only from a set without any retailer id, never from one that
    carries another tool's marker.
    """
    marker = product_set.meta_marker
    rows = list(
        client.paginate(f"{catalog.meta_catalog_id}/product_sets", retailer_id=marker, fields=PRODUCT_SET_FIELDS)
    )
    ours = sorted((row for row in rows if row.get("retailer_id") == marker), key=lambda row: int(row["id"]))
    for duplicate in ours[1:]:
        try:
            client.delete(duplicate["id"])
            logger.warning("Deleted duplicate Meta product set %s of set %s", duplicate["id"], product_set.pk)
        except InvalidRequest as error:
            logger.warning("Duplicate Meta product set %s not deleted: %s", duplicate["id"], error)
    if ours:
        return str(ours[0]["id"])
    if not by_name:
        return ""
    for row in client.paginate(f"{catalog.meta_catalog_id}/product_sets", fields=PRODUCT_SET_FIELDS, limit=100):
        if row.get("name") == product_set.name[:255] and not row.get("retailer_id"):
            return str(row["id"])
    return ""


def _delete(catalog: Catalog, product_set: ProductSet, client: GraphClient, report: SetSyncReport) -> None:
    """Delete a removed set from Meta, then the row; a set live in a shop waits for staff."""
    set_id = product_set.meta_product_set_id or find_in_meta(catalog, product_set, client)
    if set_id:
        confirmed = product_set.live_deletion_confirmed_at is not None
        params = {"allow_live_product_set_deletion": True} if confirmed else {}
        try:
            client.delete(set_id, **params)
        except InvalidRequest as error:
            if error.subcode != NOT_FOUND_SUBCODE:
                if confirmed:
                    raise
                # Meta keeps sets used live in a shop unless told otherwise: ask staff first.
                report.blocked.append(product_set.pk)
                _release(
                    product_set,
                    needs_sync=False,
                    deletion_blocked_at=timezone.now(),
                    sync_error=(
                        f'Kept in Meta: {error.message} Confirm the deletion in the admin (action "Delete from '
                        'Meta even if live in a shop") or restore the collection.'
                    )[:2000],
                )
                return
    report.deleted.append(product_set.pk)
    # Only a row still removed goes: a collection restored meanwhile keeps its set (and is recreated).
    gone = ProductSet.objects.filter(pk=product_set.pk, removed_at__isnull=False, changed_at=product_set.changed_at)
    if not gone.delete()[0]:
        _release(product_set, meta_product_set_id="", synced_hash="", published_shop_id="")


def confirm_live_deletion(queryset) -> int:
    """Staff confirmed: delete these removed sets from Meta even if they are live in a shop."""
    now = timezone.now()
    return queryset.filter(removed_at__isnull=False).update(
        live_deletion_confirmed_at=now, needs_sync=True, changed_at=now, deletion_blocked_at=None
    )


def refresh_meta_counts(catalog: Catalog, client: GraphClient | None = None) -> int:
    """Read Meta's ``product_count`` of the catalog's sets (one paged call); return how many were ours."""
    client = client or client_for(catalog)
    counts = {
        str(row["id"]): row.get("product_count")
        for row in client.paginate(f"{catalog.meta_catalog_id}/product_sets", fields="id,product_count", limit=100)
    }
    now = timezone.now()
    updated = 0
    ours = ProductSet.objects.filter(catalog=catalog).exclude(meta_product_set_id="")
    for pk, set_id in ours.values_list("pk", "meta_product_set_id"):
        if set_id in counts and isinstance(counts[set_id], int):
            updated += ProductSet.objects.filter(pk=pk).update(meta_product_count=counts[set_id], meta_count_at=now)
    return updated


def mark_changed(queryset) -> int:
    """Queue these sets for the next run (an admin edit, a staff request)."""
    return queryset.update(needs_sync=True, changed_at=timezone.now())


# -- staff-defined sets ----------------------------------------------------------------------

FILTER_OPERATORS = frozenset(
    {
        "eq",
        "neq",
        "lt",
        "lte",
        "gt",
        "gte",
        "contains",
        "not_contains",
        "i_contains",
        "i_not_contains",
        "starts_with",
        "i_starts_with",
        "is_any",
        "is_not_any",
    }
)
LIST_OPERATORS = frozenset({"is_any", "is_not_any"})


def filter_problem(value: object, path: str = "filter") -> str:
    """Why ``value`` is not a product-set filter in Meta's grammar ("" when it is).

    ``{"<field>": {"<operator>": value}}``, combined with ``{"and": [...]}``,
    ``{"or": [...]}`` and ``{"not": {...}}``. Field names are Meta's to judge (its answer
    is kept as the set's error); the shape is checked here, and an empty filter, which
    Meta reads as every item, is refused.
    """
    if not isinstance(value, dict) or not value:
        return f'{path}: a filter is a non-empty JSON object, e.g. {{"brand": {{"eq": "Acme"}}}}.'
    for key, rule in value.items():
        where = f"{path}.{key}"
        if key in ("and", "or"):
            if not isinstance(rule, list) or not rule:
                return f"{where}: takes a non-empty list of filters."
            for n, part in enumerate(rule):
                if problem := filter_problem(part, f"{where}[{n}]"):
                    return problem
        elif key == "not":
            if problem := filter_problem(rule, where):
                return problem
        else:
            if not isinstance(rule, dict) or len(rule) != 1:
                return f'{where}: use {{"<operator>": <value>}} with one operator.'
            ((operator, operand),) = rule.items()
            if operator not in FILTER_OPERATORS:
                return f"{where}: unknown operator {operator!r} (one of {', '.join(sorted(FILTER_OPERATORS))})."
            if operator in LIST_OPERATORS and (not isinstance(operand, list) or not operand):
                return f"{where}.{operator}: takes a non-empty list of values."
            if operator not in LIST_OPERATORS and isinstance(operand, dict | list):
                return f"{where}.{operator}: takes one value."
    return ""
