"""Issues from our own sync state: local validation failures and items Meta rejected in a batch.

A FAILED variant failed either locally (``catalog.items.local_problems`` found a reason
before any round trip) or at Meta (the sync engine stored Meta's message in
``Variant.last_error``). Re-running the local checks tells the two apart without
guessing from error strings. Only FAILED variants are read, so the cost follows the
number of failures, not the catalog size.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from catalog.items import local_problems, meta_item
from catalog.models import Catalog, Variant

from . import error_catalog as ec
from .issues import IssueCounts, IssueWriter, Observation, Scope
from .models import ErrorType, IssueSource, Priority
from .taxonomy import ErrorTypeCache, classify_message, sdk_codes

# FAILED variants read per chunk (each chunk: one SELECT with product and store, a few bulk writes).
FAILURE_CHUNK = 1000
# Re-read variants changed slightly before the watermark: a commit can land after its timestamp.
WATERMARK_OVERLAP = timedelta(seconds=30)


def sync_failure_issues(catalog: Catalog, *, since: datetime | None = None,
                        now: datetime | None = None) -> IssueCounts:
    """Bring local-validation and batch issues in line with the catalog's FAILED variants.

    With ``since``, only variants changed after it are re-checked (the minute-by-minute
    harvest); without, every FAILED variant is (the hourly poll). Issues of variants
    that are no longer FAILED are resolved in one UPDATE per source either way.
    """
    now = now or timezone.now()
    local = IssueWriter(catalog, IssueSource.LOCAL_VALIDATION, now=now)
    batch = IssueWriter(catalog, IssueSource.BATCH, now=now)
    not_failed = ~Q(variant__meta_status=Variant.SyncStatus.FAILED) | ~Q(variant__catalog_id=catalog.pk)
    local.resolve_where(not_failed)
    batch.resolve_where(not_failed)

    types = ErrorTypeCache(preload=True)
    known = sdk_codes()
    failed = Variant.objects.filter(catalog_id=catalog.pk, meta_status=Variant.SyncStatus.FAILED)
    if since is not None:
        failed = failed.filter(updated_at__gte=since - WATERMARK_OVERLAP)
    failed = failed.select_related("product", "product__store").order_by("pk")
    last_pk = 0
    while True:
        chunk = list(failed.filter(pk__gt=last_pk)[:FAILURE_CHUNK])
        if not chunk:
            break
        last_pk = chunk[-1].pk
        local_obs: dict[int, list[Observation]] = {}
        batch_obs: dict[int, list[Observation]] = {}
        for variant in chunk:
            problems = local_problems(meta_item(variant, variant.product, variant.product.store))
            local_obs[variant.pk] = [
                Observation(
                    variant.pk,
                    types.get(ec.LOCAL_PREFIX + p.code, title=p.message, description=p.fix,
                              priority=Priority.HIGH, source=ErrorType.Source.LOCAL),
                    Priority.HIGH,
                    p.message,
                )
                for p in problems
            ]
            batch_obs[variant.pk] = [] if problems or not variant.last_error else [
                _batch_observation(variant, types, known)
            ]
        local.apply_page(local_obs, Scope())
        batch.apply_page(batch_obs, Scope())
    counts = IssueCounts()
    counts += local.counts
    counts += batch.counts
    return counts


def _batch_observation(variant: Variant, types: ErrorTypeCache, known: frozenset[str]) -> Observation:
    code = classify_message(variant.last_error, variant.last_error_code, known_codes=known)
    error_type = types.get(code)
    reference = f"batch {variant.in_flight_batch_id}" if variant.in_flight_batch_id else ""
    return Observation(variant.pk, error_type, error_type.priority, variant.last_error, reference)
