"""Issues from our own sync state: variants that failed locally and items Meta rejected in a batch or feed.

A FAILED variant says who failed it (``Variant.failure_source``), with the message
(``last_error``), the problem codes (``last_error_code``) and our fix
(``last_error_fix``), all written by ``catalog.item_state``. This module reads them; it
never re-runs the local checks, so an issue says exactly what the variant's state says.
Variants not to be live (``excluded``: draft, archived, unpublished, excluded by staff,
removed) never have an issue. Only FAILED variants are read, so the cost follows the
number of failures, not the catalog size.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from catalog.models import Catalog, Variant

from . import error_catalog as ec
from .issues import IssueCounts, IssueWriter, Observation, Scope
from .models import ErrorType, IssueSource, ItemIssue, Priority
from .taxonomy import ErrorTypeCache, classify_message, sdk_codes

# FAILED variants read per chunk (each chunk: one SELECT of a few columns, a few bulk writes).
FAILURE_CHUNK = 1000
# Re-read variants changed slightly before the watermark: a commit can land after its timestamp.
WATERMARK_OVERLAP = timedelta(seconds=30)
LOCAL = Variant.FailureSource.LOCAL
INTEGRATION = Variant.FailureSource.INTEGRATION
# Failures we found ourselves (our message); the others quote Meta and become batch issues.
OURS = (LOCAL, INTEGRATION)
# The columns the issues are made of.
# retailer_id: Variant.from_db reads it (a deferred field would cost a query per row).
FAILURE_FIELDS = (
    "pk",
    "retailer_id",
    "failure_source",
    "last_error",
    "last_error_code",
    "last_error_fix",
    "in_flight_batch_id",
)


def failed_here(catalog: Catalog, prefix: str = "") -> Q:
    """FAILED variants of ``catalog`` that are to be live (the ones that may have an issue from us)."""
    return Q(
        **{
            f"{prefix}meta_status": Variant.SyncStatus.FAILED,
            f"{prefix}catalog_id": catalog.pk,
            f"{prefix}excluded": False,
        }
    )


def sync_failure_issues(catalog: Catalog, *, since: datetime | None = None, now: datetime | None = None) -> IssueCounts:
    """Bring local-validation and batch issues in line with the catalog's FAILED variants.

    With ``since``, only variants changed after it are re-read (the minute-by-minute
    harvest); without, every FAILED variant is (the hourly poll). Issues of variants
    that are no longer FAILED for that source, or are now excluded, are resolved in one
    UPDATE per source either way.
    """
    now = now or timezone.now()
    local = IssueWriter(catalog, IssueSource.LOCAL_VALIDATION, now=now)
    batch = IssueWriter(catalog, IssueSource.BATCH, now=now)
    mine = failed_here(catalog, "variant__")
    local.resolve_where(~(mine & Q(variant__failure_source__in=OURS)))
    batch.resolve_where(~(mine & ~Q(variant__failure_source__in=OURS)))

    types = ErrorTypeCache(preload=True)
    known = sdk_codes()
    failed = Variant.objects.filter(failed_here(catalog))
    if since is not None:
        failed = failed.filter(updated_at__gte=since - WATERMARK_OVERLAP)
    failed = failed.only(*FAILURE_FIELDS).order_by("pk")
    last_pk = 0
    while True:
        chunk = list(failed.filter(pk__gt=last_pk)[:FAILURE_CHUNK])
        if not chunk:
            break
        last_pk = chunk[-1].pk
        local_obs: dict[int, list[Observation]] = {}
        batch_obs: dict[int, list[Observation]] = {}
        for variant in chunk:
            if variant.failure_source in OURS:
                local_obs[variant.pk] = _local_observations(variant, types)
                batch_obs[variant.pk] = []
            else:
                local_obs[variant.pk] = []
                batch_obs[variant.pk] = [_batch_observation(variant, types, known)] if variant.last_error else []
        local.apply_page(local_obs, Scope())
        batch.apply_page(batch_obs, Scope())
    counts = IssueCounts()
    counts += local.counts
    counts += batch.counts
    return counts


def resolve_excluded(catalog: Catalog, *, now: datetime | None = None) -> int:
    """Resolve every open issue (any source) of the catalog's variants that are not to be live."""
    now = now or timezone.now()
    return (
        ItemIssue.objects.open()
        .filter(catalog_id=catalog.pk, variant__excluded=True)
        .update(resolved_at=now, last_seen=now)
    )


def _local_observations(variant: Variant, types: ErrorTypeCache) -> list[Observation]:
    """Our own findings: one issue per problem code stored, its message ours (``last_error``).

    Local validation codes are Meta's error types prefixed ``LOCAL_``; a connection
    failure (a variant missing from a read-only catalog) keeps its own code.
    """
    codes = list(dict.fromkeys(c for c in variant.last_error_code.split(",") if c)) or ["INVALID_ITEM"]
    # The stored message names every problem; with one code it is that problem's own text.
    message = variant.last_error if len(codes) == 1 else ""
    if variant.failure_source == INTEGRATION:
        prefix, source = "", ErrorType.Source.INTEGRATION
    else:
        prefix, source = ec.LOCAL_PREFIX, ErrorType.Source.LOCAL
    observations = []
    for code in codes:
        # Only a type seen for the first time takes these texts; shipped types keep our wording.
        error_type = types.get(
            prefix + code,
            title=message or f"{ec.humanize_code(code)} (not sent)",
            description=variant.last_error_fix if message else "",
            priority=Priority.HIGH,
            source=source,
        )
        observations.append(Observation(variant.pk, error_type, Priority.HIGH, message))
    return observations


def _batch_observation(variant: Variant, types: ErrorTypeCache, known: frozenset[str]) -> Observation:
    code = classify_message(variant.last_error, variant.last_error_code, known_codes=known)
    error_type = types.get(code)
    reference = f"batch {variant.in_flight_batch_id}" if variant.in_flight_batch_id else ""
    return Observation(variant.pk, error_type, error_type.priority, variant.last_error, reference)
