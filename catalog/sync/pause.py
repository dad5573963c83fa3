"""Failures are states: pause a catalog's sync with a visible reason, resume when the cause is gone.

A paused catalog keeps every pending change (variants stay PENDING); nothing is
dropped. Causes that pass by themselves (rate limits, outages, rejected requests)
carry ``paused_until`` and are retried after it; a bad token resumes as soon as a new
token is saved (``MetaConnection.set_token`` resets its status); a staff pause waits
for staff.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.utils import timezone

from catalog.meta.errors import AuthError, GraphAPIError, PermissionDenied, RateLimited, TransientError
from catalog.models import Catalog, MetaConnection

logger = logging.getLogger(__name__)

Kind = Catalog.PauseKind
# Token states that make a sync impossible until someone saves a new token.
BAD_TOKEN_STATES = (
    MetaConnection.TokenStatus.EXPIRED,
    MetaConnection.TokenStatus.REVOKED,
)
# 190 subcodes meaning "expired" rather than "revoked / logged out" (docs/graph-api.md §2).
EXPIRED_SUBCODES = frozenset({463})


def pause(catalog: Catalog, kind: str, reason: str, *, until=None) -> None:
    """Pause ``catalog``'s sync with a reason staff and merchants can read."""
    now = timezone.now()
    fields = {"pause_kind": kind, "paused_reason": reason[:2000], "paused_until": until, "updated_at": now}
    # Keep the time the problem started when the same cause repeats.
    since = Case(When(pause_kind=kind, paused_at__isnull=False, then=F("paused_at")), default=Value(now))
    Catalog.objects.filter(pk=catalog.pk).update(paused_at=since, **fields)
    catalog.pause_kind, catalog.paused_reason, catalog.paused_until = kind, fields["paused_reason"], until
    logger.warning("Catalog %s sync paused (%s) until %s: %s", catalog.pk, kind, until or "fixed", reason)


def resume(catalog: Catalog, *, keep_streak: bool = False) -> None:
    """Clear any pause (staff action, or the cause is gone).

    ``keep_streak``: a retry after an outage's back-off has not succeeded yet; the outage
    streak is kept so a failing retry backs off longer (only a call that goes through,
    :func:`note_success`, ends the streak).
    """
    fields = {"pause_kind": Kind.NONE, "paused_reason": "", "paused_at": None, "paused_until": None}
    if not keep_streak:
        fields["failure_streak"] = 0
        catalog.failure_streak = 0
    Catalog.objects.filter(pk=catalog.pk).update(**fields, updated_at=timezone.now())
    catalog.pause_kind, catalog.paused_reason, catalog.paused_until = "", "", None
    logger.info("Catalog %s sync resumed", catalog.pk)


def resume_if_cause_gone(catalog: Catalog) -> bool:
    """Resume a paused catalog whose cause has passed; True when it may sync now."""
    if not catalog.pause_kind:
        return True
    if catalog.pause_kind in (Kind.MANUAL, Kind.UNINSTALLED):
        return False  # staff resume it; a reconnect of the store lifts an uninstall (shopify.connect)
    now = timezone.now()
    if catalog.pause_kind in (Kind.AUTH, Kind.PERMISSION):
        connection = MetaConnection.objects.filter(pk=catalog.connection_id).first()
        if connection is None:
            return False
        bad = BAD_TOKEN_STATES if catalog.pause_kind == Kind.AUTH else (MetaConnection.TokenStatus.MISSING_PERMISSION,)
        # A new token resets the status (MetaConnection.set_token); a save of the
        # connection after the pause counts too, whoever wrote it.
        token_replaced = connection.token_status not in bad or bool(
            catalog.paused_at and connection.updated_at and connection.updated_at > catalog.paused_at
        )
        # A permission can be granted to the same token: look again now and then.
        recheck_due = catalog.pause_kind == Kind.PERMISSION and catalog.paused_until and catalog.paused_until <= now
        if not (token_replaced or recheck_due):
            return False
    elif catalog.paused_until and catalog.paused_until > now:
        return False
    resume(catalog, keep_streak=catalog.pause_kind == Kind.OUTAGE)
    return True


def pause_for_error(catalog: Catalog, error: GraphAPIError, *, token_last4: str = "") -> None:
    """Turn a Graph API failure into the matching visible pause (and token health)."""
    now = timezone.now()
    if isinstance(error, AuthError):
        status = (
            MetaConnection.TokenStatus.EXPIRED
            if error.subcode in EXPIRED_SUBCODES
            else MetaConnection.TokenStatus.REVOKED
        )
        _mark_token(catalog, status, str(error), token_last4)
        pause(
            catalog,
            Kind.AUTH,
            f"Meta rejected the access token ({error.code_label}: {error.message}). "
            "Save a new token in the Meta connection; sync resumes by itself and sends every change made meanwhile.",
        )
    elif isinstance(error, PermissionDenied):
        _mark_token(catalog, MetaConnection.TokenStatus.MISSING_PERMISSION, str(error), token_last4)
        pause(
            catalog,
            Kind.PERMISSION,
            f"Meta denied permission ({error.code_label}: {error.message}). Grant catalog_management and assign "
            "the catalog to the system user; sync retries by itself.",
            until=now + timedelta(seconds=settings.SYNC_PERMISSION_RECHECK),
        )
    elif isinstance(error, RateLimited):
        wait = max(error.retry_after, 1.0)
        pause(
            catalog,
            Kind.RATE_LIMIT,
            f"Meta rate limit ({error.code_label}): {error.message}. Pending changes are kept and sent "
            f"when the limit window has passed.",
            until=now + timedelta(seconds=wait),
        )
    elif isinstance(error, TransientError):
        Catalog.objects.filter(pk=catalog.pk).update(failure_streak=F("failure_streak") + 1)
        catalog.refresh_from_db(fields=["failure_streak"])
        wait = min(60 * 2 ** min(catalog.failure_streak - 1, 10), settings.SYNC_OUTAGE_BACKOFF_MAX)
        pause(
            catalog,
            Kind.OUTAGE,
            f"Meta is not answering properly ({error.code_label}: {error.message}). Retrying automatically.",
            until=now + timedelta(seconds=wait),
        )
    else:
        pause(
            catalog,
            Kind.ERROR,
            f"Meta rejected the sync request ({error.code_label}: {error.message}). Retrying later; "
            "if this persists, contact support with fbtrace_id " + (error.fbtrace_id or "n/a") + ".",
            until=now + timedelta(seconds=settings.SYNC_ERROR_PAUSE),
        )


def note_success(catalog: Catalog) -> None:
    """A call went through: reset the outage streak and record token health as valid."""
    if catalog.failure_streak:
        Catalog.objects.filter(pk=catalog.pk).update(failure_streak=0)
        catalog.failure_streak = 0


def _mark_token(catalog: Catalog, status: str, message: str, token_last4: str) -> None:
    # Only the token that failed: if staff saved a new one meanwhile, leave it alone.
    connections = MetaConnection.objects.filter(pk=catalog.connection_id)
    if token_last4:
        connections = connections.filter(token_last4=token_last4)
    connections.update(token_status=status, token_error=message[:2000], token_checked_at=timezone.now())
