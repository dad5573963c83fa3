"""Business use case (BUC) rate limiting of catalog calls and the ``X-Business-Use-Case-Usage``
header that reports it on every catalog call (docs/graph-api.md §2)."""

from __future__ import annotations

import json
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F

from ..faults import ActiveFaults
from ..models import ProductCatalog, UsageWindow
from . import errors

# Meta's hourly catalog quotas for a business with one active user:
# batch = 200 + 200*log2(users), management = 20,000 + 20,000*log2(users).
# They only size the reported percentage unless a fault profile enforces a quota; a
# large global ``rate_limit_per_hour`` keeps long benchmark runs far from it.
DEFAULT_QUOTA = {
    UsageWindow.UseCase.CATALOG_BATCH: 200,
    UsageWindow.UseCase.CATALOG_MANAGEMENT: 20000,
}
BATCH_EDGES = frozenset({"items_batch", "batch", "localized_items_batch"})


def use_case_of(edge: str) -> str:
    return UsageWindow.UseCase.CATALOG_BATCH if edge in BATCH_EDGES else UsageWindow.UseCase.CATALOG_MANAGEMENT


def record_call(catalog: ProductCatalog, use_case: str, now: datetime) -> int:
    """Count one call in the current hour's window; return the calls so far this hour."""
    window = now.replace(minute=0, second=0, microsecond=0)
    counter = UsageWindow.objects.filter(catalog=catalog, use_case=use_case, window_start=window)
    if not counter.update(calls=F("calls") + 1):
        try:
            with transaction.atomic():
                UsageWindow.objects.create(catalog=catalog, use_case=use_case, window_start=window, calls=1)
        except IntegrityError:  # another request created it first
            counter.update(calls=F("calls") + 1)
    return counter.values_list("calls", flat=True).first() or 1


def check(catalog: ProductCatalog, use_case: str, calls: int, active: ActiveFaults) -> tuple[dict[str, str], bool]:
    """The usage header for this call and whether the call is over its quota."""
    quota = active.rate_limit_per_hour or DEFAULT_QUOTA[use_case]
    limited = active.rate_limited or (active.rate_limit_per_hour is not None and calls > active.rate_limit_per_hour)
    # Whole percentages as Meta sends them, rounded up: any use at all shows as at least 1.
    percent = -(-calls * 100 // quota)
    if limited:
        percent = max(percent, 100)
    usage = {
        "type": use_case,
        "call_count": percent,
        "total_cputime": percent // 4,
        "total_time": percent // 3,
        "estimated_time_to_regain_access": active.regain_access_minutes if limited else 0,
    }
    header = json.dumps({catalog.business.fbid: [usage]}, separators=(",", ":"))
    return {"X-Business-Use-Case-Usage": header}, limited


def rate_limit_error(use_case: str) -> errors.GraphError:
    if use_case == UsageWindow.UseCase.CATALOG_BATCH:
        return errors.catalog_batch_rate_limited()
    return errors.catalog_management_rate_limited()
