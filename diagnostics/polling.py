"""Poll Meta's diagnostics for a catalog and turn them into issues.

- Product search (``GET /{catalog_id}/products?error_priority=...`` or ``&error_type=...``),
  streamed page by page: item issues upserted per variant and type, resolved when Meta
  stops reporting them.
- Item errors for the variants a seller is looking at (on page view, cached).
- The catalog's ``diagnostics`` edge: catalog-level groups, and Meta's titles and
  descriptions refresh the taxonomy.
- Feed upload errors (``/{upload_id}/errors`` and their samples).

No Meta call happens inside a database transaction: each page is fetched first, then
written in its own short statements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from catalog import graph_clients, item_state
from catalog.meta.client import GraphClient
from catalog.meta.errors import GraphAPIError
from catalog.models import Catalog, SyncBatch, Variant
from galantis import logcontext

from . import error_catalog as ec
from .failures import sync_failure_issues
from .integration import clear_integration_errors, record_integration_error
from .issues import IssueWriter, Observation, Scope, open_catalog_issue, resolve_catalog_issues
from .models import DiagnosticsRun, ErrorType, IssueSource, Priority
from .taxonomy import ErrorTypeCache, normalise_code, normalise_priority, update_meta_texts
from .verdicts import VERDICT_FIELDS, poll_verdicts

logger = logging.getLogger(__name__)

# Items per product-search page (Meta's `limit`); one page is one SELECT and a few bulk writes.
PAGE_SIZE = 500
# Retailer ids per `filter={"retailer_id":{"is_any":[...]}}` lookup on page view.
ITEM_LOOKUP_BATCH = 100
# How long a page view's item check is reused before Meta is asked again.
ITEM_CHECK_TTL = 600
# A page view waits at most this long for Meta, and does not retry: the page must answer.
ITEM_CHECK_TIMEOUT = 5.0
# A failed check is remembered briefly too, so a Meta outage does not slow every page view.
ITEM_CHECK_FAILURE_TTL = 60
ITEM_FIELDS = "id,retailer_id,errors"
# A page view's check reads the item's errors and Meta's verdict in the same call.
ITEM_CHECK_FIELDS = ITEM_FIELDS + VERDICT_FIELDS.removeprefix("id,retailer_id")
PRIORITIES = (Priority.HIGH, Priority.MEDIUM, Priority.LOW)
SEVERITY_PRIORITY = {"MUST_FIX": Priority.HIGH, "OPPORTUNITY": Priority.LOW}
# Feed upload error samples fetched per error (Meta returns samples, not every row).
FEED_SAMPLES_PER_ERROR = 200


class NotConnected(Exception):
    """The catalog has no Meta id or no token: nothing to poll."""


def client_for(catalog: Catalog, **kwargs) -> GraphClient:
    """The Graph client for the catalog (its connection's token, its own quota bucket)."""
    connection = catalog.connection
    if not catalog.meta_catalog_id or connection is None or not connection.access_token:
        raise NotConnected(f"catalog {catalog.pk} is not connected to Meta")
    return graph_clients.client_for(catalog, **kwargs)


@dataclass
class _TextCollector:
    """Meta's title / description / call to action per error type, first seen in a run."""

    texts: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, code: str, error: dict) -> None:
        description = error.get("description") or error.get("subtitle") or ""
        if code and code not in self.texts and (error.get("title") or description):
            cta = error.get("call_to_action") or ""
            if isinstance(cta, dict):  # the diagnostics edge sends {"type": ..., "text": ...}
                cta = cta.get("text") or ""
            self.texts[code] = {
                "title": str(error.get("title") or ""),
                "description": str(description),
                "call_to_action": str(cta),
            }


class _ItemMapper:
    """Turns Meta items (``{"id", "retailer_id", "errors": [...]}``) into observations."""

    def __init__(self, catalog: Catalog, types: ErrorTypeCache, texts: _TextCollector) -> None:
        self.catalog = catalog
        self.types = types
        self.texts = texts
        self.unmatched = 0

    def observations(self, items: Sequence[dict], *, expect: Iterable[str] = ()) -> dict[int, list[Observation]]:
        """Observations per variant for one page (one query maps retailer ids to variants).

        Retailer ids in ``expect`` that Meta did not return are reported with no problems,
        and so are variants not to be live (draft, archived, excluded...): Meta keeps them
        hidden, so their errors are nobody's problem and never open an issue.
        """
        retailer_ids = {str(item.get("retailer_id") or "") for item in items} | set(expect)
        retailer_ids.discard("")
        variant_ids: dict[str, int] = {}
        excluded: set[int] = set()
        for retailer_id, pk, is_excluded in Variant.objects.filter(
            catalog_id=self.catalog.pk, retailer_id__in=retailer_ids
        ).values_list("retailer_id", "pk", "excluded"):
            variant_ids[retailer_id] = pk
            if is_excluded:
                excluded.add(pk)
        self.types.prime(normalise_code(e.get("error_type")) for item in items for e in item.get("errors") or ())
        reported: dict[int, list[Observation]] = {variant_ids[r]: [] for r in expect if r in variant_ids}
        for item in items:
            variant_id = variant_ids.get(str(item.get("retailer_id") or ""))
            if variant_id is None:
                self.unmatched += 1
                continue
            reported[variant_id] = (
                []
                if variant_id in excluded
                else [self._observation(variant_id, error) for error in item.get("errors") or ()]
            )
        return reported

    def _observation(self, variant_id: int, error: dict) -> Observation:
        code = normalise_code(error.get("error_type")) or ec.UNKNOWN_META_ERROR
        title = str(error.get("title") or "")
        description = str(error.get("description") or "")
        self.texts.add(code, error)
        error_type = self.types.get(
            code, title=title, description=description, priority=str(error.get("error_priority") or "")
        )
        priority = normalise_priority(error.get("error_priority"), default=error_type.priority)
        message = description or title
        return Observation(variant_id, error_type, priority, message)


def _pages(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    while page := list(islice(rows, size)):
        yield page


@logcontext.for_catalog
def poll_catalog(
    catalog: Catalog,
    *,
    priorities: Sequence[str] = PRIORITIES,
    error_type: str | None = None,
    client: GraphClient | None = None,
    include_failures: bool = True,
) -> DiagnosticsRun:
    """Poll the product search API by priority (or one error type) and update the catalog's issues.

    Returns the run. A Graph error ends the run as FAILED (nothing polled) or PARTIAL and
    opens an integration issue; passes that completed still resolve what vanished.
    """
    started = timezone.now()
    scope_label = f"error_type={error_type}" if error_type else "priority=" + ",".join(priorities)
    run = DiagnosticsRun.objects.create(
        tenant_id=catalog.tenant_id,
        catalog=catalog,
        kind=DiagnosticsRun.Kind.POLL,
        started_at=started,
        scope=scope_label[:200],
    )
    if include_failures:
        counts = sync_failure_issues(catalog, now=started)
        run.opened += counts.opened
        run.updated += counts.updated
        run.resolved += counts.resolved
    try:
        client = client or client_for(catalog)
    except NotConnected as exc:
        return _finish(run, DiagnosticsRun.Status.FAILED, error_code="not_connected", error_message=str(exc))

    types = ErrorTypeCache(preload=True)
    texts = _TextCollector()
    mapper = _ItemMapper(catalog, types, texts)
    writer = IssueWriter(catalog, IssueSource.DIAGNOSTICS_POLL, now=started)
    passes: list[tuple[Scope, dict]] = []
    if error_type:
        et = types.get(error_type)
        passes.append((Scope(error_type_id=et.pk), {"error_type": et.code}))
    else:
        passes.extend((Scope(priority=p), {"error_priority": p}) for p in priorities)

    completed = 0
    failure: BaseException | None = None
    for scope, params in passes:
        try:
            rows = client.paginate(f"{catalog.meta_catalog_id}/products", fields=ITEM_FIELDS, limit=PAGE_SIZE, **params)
            for page in _pages(rows, PAGE_SIZE):
                writer.apply_page(mapper.observations(page), scope)
                run.pages += 1
                run.items_seen += len(page)
        except GraphAPIError as exc:
            failure = exc
            break
        writer.resolve_unseen(scope)
        completed += 1
    if failure is None and not error_type:
        try:
            poll_verdicts(catalog, client)
        except GraphAPIError as exc:
            failure = exc

    run.opened += writer.counts.opened
    run.updated += writer.counts.updated
    run.resolved += writer.counts.resolved
    update_meta_texts(texts.texts)
    if failure is not None:
        record_integration_error(catalog, failure, operation="diagnostics")
        status = DiagnosticsRun.Status.PARTIAL if completed else DiagnosticsRun.Status.FAILED
        return _finish(
            run,
            status,
            error_code=str(getattr(failure, "code", "") or "error"),
            error_message=str(getattr(failure, "message", "") or failure),
        )
    clear_integration_errors(catalog, operation="diagnostics")
    if not error_type:
        _record_unmatched(catalog, mapper.unmatched, types)
    return _finish(run, DiagnosticsRun.Status.OK)


def _record_unmatched(catalog: Catalog, unmatched: int, types: ErrorTypeCache) -> None:
    et = types.get(ec.ITEMS_NOT_IN_SHOPIFY, source=ErrorType.Source.LOCAL)
    if unmatched:
        open_catalog_issue(
            catalog,
            et,
            source=IssueSource.DIAGNOSTICS_POLL,
            affected_items=unmatched,
            message=f"{unmatched} item(s) with problems in the Meta catalog match no Shopify variant.",
        )
    else:
        resolve_catalog_issues(catalog, Q(error_type=et))


def _finish(run: DiagnosticsRun, status: str, *, error_code: str = "", error_message: str = "") -> DiagnosticsRun:
    run.status = status
    run.finished_at = timezone.now()
    run.error_code = error_code[:64]
    run.error_message = error_message[:2000]
    run.save()
    return run


# --- Page view: the items the seller is looking at -------------------------------------------


@dataclass
class ItemCheck:
    """Outcome of asking Meta about a product's items on page view."""

    checked_at: object
    ok: bool
    error: str = ""
    review: dict[str, str] = field(default_factory=dict)  # retailer id -> review_status


def item_check_cache_key(catalog_id: int, product_id: int) -> str:
    return f"diagnostics:item-check:{catalog_id}:{product_id}"


def refresh_item_errors(
    catalog: Catalog,
    variants: Sequence[Variant],
    *,
    product_id: int,
    client: GraphClient | None = None,
    force: bool = False,
) -> ItemCheck:
    """Ask Meta for the current errors of ``variants`` (cached ``ITEM_CHECK_TTL`` s) and upsert them.

    Variants Meta does not return have no diagnostics issue left. A failure is returned,
    not raised: the page then shows what was known at the last check.
    """
    key = item_check_cache_key(catalog.pk, product_id)
    if not force and (cached := cache.get(key)) is not None:
        return cached
    now = timezone.now()
    try:
        client = client or client_for(catalog, timeout=ITEM_CHECK_TIMEOUT, max_retries=0)
    except NotConnected as exc:
        return ItemCheck(checked_at=now, ok=False, error=str(exc))
    types = ErrorTypeCache()
    texts = _TextCollector()
    mapper = _ItemMapper(catalog, types, texts)
    writer = IssueWriter(catalog, IssueSource.DIAGNOSTICS_POLL, now=now)
    review: dict[str, str] = {}
    wanted = [v.retailer_id for v in variants]
    try:
        for start in range(0, len(wanted), ITEM_LOOKUP_BATCH):
            batch = wanted[start : start + ITEM_LOOKUP_BATCH]
            rows = list(client.items_by_retailer_id(catalog.meta_catalog_id, batch, ITEM_CHECK_FIELDS, len(batch)))
            review.update({str(r.get("retailer_id")): str(r.get("review_status") or "") for r in rows})
            writer.apply_page(mapper.observations(rows, expect=batch))
            # Meta's verdict as read now: the page and the health page then say the same thing.
            item_state.record_verdicts(
                catalog.pk, [item_state.ItemVerdict.from_graph(r) for r in rows if isinstance(r, dict)], now=now
            )
    except GraphAPIError as exc:
        logger.info("catalog %s: item check failed: %s", catalog.pk, exc)
        failed = ItemCheck(checked_at=now, ok=False, error=str(getattr(exc, "message", "") or exc))
        cache.set(key, failed, ITEM_CHECK_FAILURE_TTL)
        return failed
    update_meta_texts(texts.texts)
    result = ItemCheck(checked_at=now, ok=True, review=review)
    cache.set(key, result, ITEM_CHECK_TTL)
    return result


# --- Catalog-level diagnostics edge ------------------------------------------------------------


def poll_catalog_diagnostics(catalog: Catalog, *, client: GraphClient | None = None) -> DiagnosticsRun:
    """Read ``GET /{catalog_id}/diagnostics``: one catalog issue per group, Meta's texts into the taxonomy."""
    now = timezone.now()
    run = DiagnosticsRun.objects.create(
        tenant_id=catalog.tenant_id,
        catalog=catalog,
        kind=DiagnosticsRun.Kind.CATALOG_DIAGNOSTICS,
        started_at=now,
    )
    try:
        client = client or client_for(catalog)
        groups = list(client.paginate(f"{catalog.meta_catalog_id}/diagnostics"))
    except NotConnected as exc:
        return _finish(run, DiagnosticsRun.Status.FAILED, error_code="not_connected", error_message=str(exc))
    except GraphAPIError as exc:
        record_integration_error(catalog, exc, operation="diagnostics")
        return _finish(
            run,
            DiagnosticsRun.Status.FAILED,
            error_code=str(getattr(exc, "code", "") or "error"),
            error_message=str(getattr(exc, "message", "") or exc),
        )
    types = ErrorTypeCache(preload=True)
    texts = _TextCollector()
    kept: set[tuple[int, str]] = set()
    for group in groups:
        kind = normalise_code(group.get("type")) or "OTHER"
        et = types.get(
            ec.DIAGNOSTICS_GROUP_PREFIX + kind,
            title=str(group.get("title") or ""),
            priority=SEVERITY_PRIORITY.get(str(group.get("severity") or "").upper(), ""),
        )
        key = str(group.get("error_code") or group.get("title") or kind)[:200]
        # Meta's item count per error type of the group: the health page shows each beside our own count.
        item_counts: dict[str, int] = {}
        for entry in group.get("diagnostics") or ():
            if isinstance(entry, dict) and (code := normalise_code(entry.get("error_type") or entry.get("type"))):
                types.get(code, title=str(entry.get("title") or ""), description=str(entry.get("description") or ""))
                texts.add(code, entry)
                if (count := _int_or_none(entry.get("number_of_affected_items"))) is not None:
                    item_counts[code] = item_counts.get(code, 0) + count
        affected = group.get("number_of_affected_items", group.get("number_of_affected_entities"))
        issue = open_catalog_issue(
            catalog,
            et,
            source=IssueSource.DIAGNOSTICS_POLL,
            key=key,
            priority=SEVERITY_PRIORITY.get(str(group.get("severity") or "").upper(), et.priority),
            title=str(group.get("title") or et.display_title),
            message=str(group.get("subtitle") or ""),
            affected_items=_int_or_none(affected),
            now=now,
            details={
                "severity": group.get("severity"),
                "affected_channels": group.get("affected_channels") or [],
                "affected_entity": group.get("affected_entity"),
                "error_code": group.get("error_code"),
                "types": item_counts if group.get("affected_entity", "product_item") == "product_item" else {},
            },
        )
        kept.add((issue.error_type_id, issue.key))
        run.items_seen += 1
    run.resolved = resolve_catalog_issues(
        catalog,
        Q(source=IssueSource.DIAGNOSTICS_POLL, error_type__code__startswith=ec.DIAGNOSTICS_GROUP_PREFIX),
        keep_keys=kept,
        now=now,
    )
    update_meta_texts(texts.texts)
    clear_integration_errors(catalog, operation="diagnostics")
    return _finish(run, DiagnosticsRun.Status.OK)


def refresh_all_errors(client: GraphClient) -> int:
    """Meta's texts for every error type from ``GET /catalog_all_errors`` (docs/meta-ingestion-rules.md,
    "Upload status and diagnostics"); 0 if unavailable.

    The SDK has no such edge (docs/graph-api.md §5), so the diagnostics edge stays the main
    source; when the endpoint answers, its titles, descriptions and calls to action
    refresh the whole taxonomy at once.
    """
    try:
        answer = client.get("catalog_all_errors", locale="en_US")
    except GraphAPIError as exc:
        logger.info("catalog_all_errors unavailable: %s", exc)
        return 0
    texts = _TextCollector()
    types = ErrorTypeCache(preload=True)
    for row in answer.get("all") or answer.get("data") or ():
        if isinstance(row, dict) and (code := normalise_code(row.get("error_type"))):
            types.get(
                code,
                title=str(row.get("title") or ""),
                description=str(row.get("description") or ""),
                priority=str(row.get("error_priority") or ""),
            )
            texts.add(code, row)
    return update_meta_texts(texts.texts)


# --- Feed uploads ------------------------------------------------------------------------------


FEED_KINDS = (SyncBatch.Kind.REPLACE_FEED, SyncBatch.Kind.UPDATE_FEED)


def harvest_feed_errors(catalog: Catalog, batch: SyncBatch, *, client: GraphClient | None = None) -> int:
    """Read a finished feed upload's errors (and their sample rows) into issues; return issues opened.

    Each error is a catalog issue with Meta's total count; its sample rows become item
    issues. After a replace feed, feed issues not reported again are resolved.
    """
    now = timezone.now()
    client = client or client_for(catalog)
    types = ErrorTypeCache()
    texts = _TextCollector()
    writer = IssueWriter(catalog, IssueSource.FEED, now=now)
    reported: dict[int, list[Observation]] = {}
    kept: set[tuple[int, str]] = set()
    for error in client.paginate(
        f"{batch.handle}/errors", fields="id,summary,description,error_type,severity,total_count,affected_surfaces"
    ):
        code = normalise_code(error.get("error_type")) or ec.FEED_UPLOAD_ERROR
        summary = str(error.get("summary") or "")
        description = str(error.get("description") or "")
        texts.add(code, {"title": summary, "description": description})
        et = types.get(code, title=summary, description=description)
        priority = Priority.HIGH if str(error.get("severity") or "").lower() == "fatal" else Priority.LOW
        message = f"{summary} {description}".strip()
        issue = open_catalog_issue(
            catalog,
            et,
            source=IssueSource.FEED,
            key=f"upload:{batch.handle}:{error.get('id')}",
            priority=priority,
            title=summary or et.display_title,
            message=description,
            affected_items=_int_or_none(error.get("total_count")),
            details={"upload_id": batch.handle, "batch_id": batch.pk, "severity": error.get("severity")},
            now=now,
        )
        kept.add((issue.error_type_id, issue.key))
        samples = islice(
            client.paginate(f"{error.get('id')}/samples", fields="id,retailer_id,row_number"), FEED_SAMPLES_PER_ERROR
        )
        by_retailer = {str(s.get("retailer_id") or ""): s for s in samples}
        variant_ids = dict(
            Variant.objects.filter(
                catalog_id=catalog.pk, retailer_id__in=[r for r in by_retailer if r], excluded=False
            ).values_list("retailer_id", "pk")
        )
        for retailer_id, sample in by_retailer.items():
            if (variant_id := variant_ids.get(retailer_id)) is not None:
                reference = f"feed upload {batch.handle} row {sample.get('row_number', '?')}"
                reported.setdefault(variant_id, []).append(Observation(variant_id, et, priority, message, reference))
    scope = Scope()
    items = list(reported.items())
    for start in range(0, len(items), PAGE_SIZE):
        writer.apply_page(dict(items[start : start + PAGE_SIZE]), scope)
    if batch.kind == SyncBatch.Kind.REPLACE_FEED:
        # A replace feed carries the whole catalog: what it no longer reports is gone.
        writer.resolve_unseen(scope)
        resolve_catalog_issues(catalog, Q(source=IssueSource.FEED), keep_keys=kept, now=now)
    update_meta_texts(texts.texts)
    return writer.counts.opened


def _int_or_none(value: object) -> int | None:
    try:
        return max(int(value), 0)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
