"""Integration failures (token, permission, rate limit, Meta outage) as catalog issues.

The sync engine, the connection checks and the diagnostics poll all call
``record_integration_error`` when a Graph call fails and ``clear_integration_errors``
when one succeeds, so the health page shows one banner per cause, not a silent stop.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from catalog.models import Catalog, MetaConnection

from . import error_catalog as ec
from .issues import open_catalog_issue, resolve_catalog_issues
from .models import CatalogIssue, ErrorType, IssueSource
from .taxonomy import ErrorTypeCache

logger = logging.getLogger(__name__)

TOKEN_TYPES = (ec.TOKEN_EXPIRED, ec.TOKEN_REVOKED, ec.TOKEN_INVALID)
# A successful authenticated call disproves these whatever operation recorded them.
CLEARED_BY_ANY_SUCCESS = (*TOKEN_TYPES, ec.META_OUTAGE)
INTEGRATION_TYPES = (*TOKEN_TYPES, ec.PERMISSION_DENIED, ec.RATE_LIMITED, ec.META_OUTAGE, ec.META_REQUEST_REJECTED)

# Graph error codes (docs/graph-api.md §2).
AUTH_CODES = frozenset({102, 190})
EXPIRED_SUBCODES = frozenset({463})
REVOKED_SUBCODES = frozenset({452, 458, 459, 460, 464, 467, 492})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 80004, 80009, 80014})
OUTAGE_CODES = frozenset({1, 2})


def classify_graph_error(exc: BaseException) -> str:
    """The integration error type for a failed Graph call (a GraphAPIError or a network error)."""
    code = _int(getattr(exc, "code", None))
    subcode = _int(getattr(exc, "subcode", None))
    status = _int(getattr(exc, "http_status", None))
    if code in AUTH_CODES:
        if subcode in EXPIRED_SUBCODES:
            return ec.TOKEN_EXPIRED
        if subcode in REVOKED_SUBCODES:
            return ec.TOKEN_REVOKED
        return ec.TOKEN_INVALID
    if code in PERMISSION_CODES:
        return ec.PERMISSION_DENIED
    if code in RATE_LIMIT_CODES:
        return ec.RATE_LIMITED
    if code in OUTAGE_CODES or (status or 0) >= 500 or getattr(exc, "is_transient", False) or code is None:
        return ec.META_OUTAGE
    return ec.META_REQUEST_REJECTED


def record_integration_error(
    catalog: Catalog, exc: BaseException, *, operation: str = "", now: datetime | None = None
) -> CatalogIssue:
    """Open (or refresh) the catalog issue for a failed Graph call; never stores the token."""
    now = now or timezone.now()
    code = classify_graph_error(exc)
    error_type = ErrorTypeCache().get(code, source=ErrorType.Source.INTEGRATION)
    details: dict = {
        "operation": operation,
        "code": getattr(exc, "code", None),
        "subcode": getattr(exc, "subcode", None),
        "http_status": getattr(exc, "http_status", None),
        "fbtrace_id": getattr(exc, "fbtrace_id", "") or "",
    }
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        details["retry_after"] = retry_after
        details["until"] = (now + timedelta(seconds=float(retry_after))).isoformat()
    message = str(getattr(exc, "message", "") or exc)[:2000]
    logger.warning("catalog %s: %s during %s (code %s)", catalog.pk, code, operation or "call", details["code"])
    return open_catalog_issue(
        catalog,
        error_type,
        source=IssueSource.INTEGRATION,
        key=operation,
        message=message,
        details=details,
        now=now,
    )


def clear_integration_errors(catalog: Catalog, *, operation: str = "", now: datetime | None = None) -> int:
    """Resolve what a successful Graph call disproves: token and outage issues, and the operation's own."""
    q = Q(error_type__code__in=CLEARED_BY_ANY_SUCCESS) | Q(error_type__code__in=INTEGRATION_TYPES, key=operation)
    return resolve_catalog_issues(catalog, Q(source=IssueSource.INTEGRATION) & q, now=now)


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


# The sync engine pauses a catalog on these failures (catalog.sync.pause); the pause is
# mirrored as a catalog issue so the health page has one place for every blocking cause.
SYNC_PAUSE_KEY = "sync"
_PAUSE_TYPES = {
    Catalog.PauseKind.PERMISSION: ec.PERMISSION_DENIED,
    Catalog.PauseKind.RATE_LIMIT: ec.RATE_LIMITED,
    Catalog.PauseKind.OUTAGE: ec.META_OUTAGE,
    Catalog.PauseKind.ERROR: ec.META_REQUEST_REJECTED,
}


def pause_issue_type(catalog: Catalog) -> str:
    """The integration error type behind the catalog's sync pause ("" when not paused by a failure)."""
    if catalog.pause_kind == Catalog.PauseKind.AUTH:
        status = getattr(catalog.connection, "token_status", "") if catalog.connection_id else ""
        return ec.TOKEN_EXPIRED if status == MetaConnection.TokenStatus.EXPIRED else ec.TOKEN_REVOKED
    return _PAUSE_TYPES.get(catalog.pause_kind, "")


def mirror_sync_pause(catalog: Catalog, *, now: datetime | None = None) -> CatalogIssue | None:
    """Open the issue matching the catalog's current sync pause and resolve stale ones (key "sync")."""
    now = now or timezone.now()
    code = pause_issue_type(catalog)
    issue = None
    if code:
        issue = open_catalog_issue(
            catalog,
            ErrorTypeCache().get(code, source=ErrorType.Source.INTEGRATION),
            source=IssueSource.INTEGRATION,
            key=SYNC_PAUSE_KEY,
            message=catalog.paused_reason,
            details={
                "pause_kind": catalog.pause_kind,
                "paused_until": catalog.paused_until.isoformat() if catalog.paused_until else None,
            },
            now=now,
        )
    stale = Q(source=IssueSource.INTEGRATION, key=SYNC_PAUSE_KEY)
    if issue is not None:
        stale &= ~Q(pk=issue.pk)
    resolve_catalog_issues(catalog, stale, now=now)
    return issue
