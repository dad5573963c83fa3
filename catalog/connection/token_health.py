"""Meta catalog token health: debug_token, the five states, pausing and resuming sync.

An expired or revoked token must never fail silently (vendor page): every check
records its result on the ``MetaConnection``, pauses the tenant's catalogs with the
reason when nothing can be written, and lifts that pause (re-queuing a push) as
soon as a good token is checked or saved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from catalog import item_state, permissions
from catalog.meta.client import GraphClient
from catalog.meta.errors import AuthError, GraphAPIError, PermissionDenied, RateLimited, TransientError
from catalog.models import Catalog, MetaConnection, Tenant, Variant
from catalog.sync import pause
from catalog.sync.push_requests import request_push
from galantis.logredact import redact

logger = logging.getLogger(__name__)

Status = MetaConnection.TokenStatus

# Meta's permission for writing catalog items; without it every push is refused (code 200/10).
REQUIRED_SCOPE = "catalog_management"
# debug_token error subcodes that mean "expired" rather than "revoked/invalidated".
EXPIRED_SUBCODES = frozenset({463})
# Error codes (``GraphAPIError.code_label``: "190", "190/463", "200"...) that mean the
# token stopped working; variants refused with them are retried when sync resumes.
TOKEN_ERROR_CODES = r"^(190|102|10|2[0-9][0-9])(/[0-9]+)?$"
PauseKind = Catalog.PauseKind
# The sync engine's pause kinds a token causes; a good token lifts them.
TOKEN_PAUSES = (PauseKind.AUTH, PauseKind.PERMISSION)

LEVELS = {
    Status.VALID: "ok",
    Status.EXPIRING: "warning",
    Status.UNKNOWN: "warning",
    Status.EXPIRED: "error",
    Status.REVOKED: "error",
    Status.MISSING_PERMISSION: "error",
}


class MetaUnavailable(Exception):
    """Meta could not be asked (outage, rate limit, network); nothing was changed."""


@dataclass(frozen=True)
class TokenCheck:
    """The verdict on one token, from ``debug_token``."""

    status: str
    message: str
    is_valid: bool = False
    token_type: str = ""
    scopes: list[str] = field(default_factory=list)
    expires_at: datetime | None = None
    # [{"scope": ..., "target_ids": [...]}] as debug_token returns them.
    granular_scopes: list[dict] = field(default_factory=list)

    @property
    def blocks_sync(self) -> bool:
        return self.status in MetaConnection.BLOCKING_STATUSES

    def target_ids(self, scope: str) -> list[str]:
        """Ids the token was granted ``scope`` on (businesses, catalogs), if Meta says."""
        for grant in self.granular_scopes:
            if grant.get("scope") == scope:
                return [str(t) for t in grant.get("target_ids") or []]
        return []


def warning_days() -> int:
    return settings.META_TOKEN_WARNING_DAYS


def _timestamp(value: object) -> datetime | None:
    """Meta's unix seconds; 0 (or absent) means "never expires"."""
    try:
        seconds = int(value or 0)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds > 0 else None


def classify(data: dict, *, now: datetime | None = None) -> TokenCheck:
    """Turn the ``data`` object of ``GET /debug_token`` into a ``TokenCheck`` (pure)."""
    now = now or timezone.now()
    expires_at = _timestamp(data.get("expires_at"))
    scopes = [str(s) for s in data.get("scopes") or []]
    common = {
        "token_type": str(data.get("type") or ""),
        "scopes": scopes,
        "expires_at": expires_at,
        "granular_scopes": list(data.get("granular_scopes") or []),
        "is_valid": bool(data.get("is_valid")),
    }
    if not data.get("is_valid"):
        error = data.get("error") or {}
        subcode = error.get("subcode") or error.get("error_subcode")
        if subcode in EXPIRED_SUBCODES or (expires_at is not None and expires_at <= now):
            when = f" on {expires_at:%Y-%m-%d}" if expires_at else ""
            return TokenCheck(Status.EXPIRED, f"The Meta token expired{when}.", **common)
        reason = redact(str(error.get("message") or "Meta no longer accepts it"))
        return TokenCheck(Status.REVOKED, f"The Meta token was revoked or is invalid: {reason}", **common)
    if REQUIRED_SCOPE not in scopes:
        return TokenCheck(
            Status.MISSING_PERMISSION,
            f"The Meta token lacks the {REQUIRED_SCOPE} permission (it has: {', '.join(scopes) or 'none'}).",
            **common,
        )
    if expires_at is not None and expires_at - now <= timedelta(days=warning_days()):
        days = max((expires_at - now).days, 0)
        return TokenCheck(
            Status.EXPIRING,
            f"The Meta token expires on {expires_at:%Y-%m-%d} (in {days} day{'s' if days != 1 else ''}).",
            **common,
        )
    return TokenCheck(Status.VALID, "The Meta token is valid.", **common)


def _check_from_error(exc: GraphAPIError) -> TokenCheck:
    """A verdict when Meta refused the debug call itself (the token can't even inspect itself)."""
    message = redact(exc.message or str(exc))
    if isinstance(exc, AuthError):
        if exc.subcode in EXPIRED_SUBCODES:
            return TokenCheck(Status.EXPIRED, f"The Meta token expired: {message}")
        return TokenCheck(Status.REVOKED, f"Meta rejects the token (wrong, truncated or revoked): {message}")
    if isinstance(exc, PermissionDenied):
        return TokenCheck(Status.MISSING_PERMISSION, f"The Meta token lacks a permission: {message}")
    return TokenCheck(Status.REVOKED, f"Meta rejects the token: {message}")


def inspect_token(token: str) -> TokenCheck:
    """Ask Meta's ``debug_token`` about ``token``; raise ``MetaUnavailable`` if Meta can't be asked."""
    try:
        data = GraphClient(token).debug_token()
    except (TransientError, RateLimited) as exc:
        raise MetaUnavailable(f"Meta could not be reached to check the token ({redact(str(exc.message))}).") from exc
    except GraphAPIError as exc:
        return _check_from_error(exc)
    return classify(data or {})


def check_token(connection: MetaConnection, *, max_age: timedelta | None = None) -> str:
    """Re-check the stored token with ``debug_token``, record it, pause or resume sync; return the status.

    The sync engine calls this before each run (``max_age`` skips a fresh, non-blocking
    result); the daily schedule calls it without ``max_age``. When Meta can't be
    reached the previous verdict stands and only the error is recorded.
    """
    if (
        max_age is not None
        and connection.token_checked_at
        and connection.token_status not in (Status.UNKNOWN, *MetaConnection.BLOCKING_STATUSES)
        and timezone.now() - connection.token_checked_at < max_age
    ):
        return connection.token_status
    if not connection.access_token:
        check = TokenCheck(Status.REVOKED, "No Meta token is stored.")
    else:
        try:
            check = inspect_token(connection.access_token)
        except MetaUnavailable as exc:
            MetaConnection.objects.filter(pk=connection.pk).update(token_error=str(exc), updated_at=timezone.now())
            connection.token_error = str(exc)
            logger.warning("token check for tenant %s: Meta unavailable", connection.tenant_id)
            return connection.token_status
    record_check(connection, check)
    return check.status


def check_token_before_sync(connection: MetaConnection) -> str:
    """``check_token`` with the recheck window from settings (for the push pipeline)."""
    return check_token(connection, max_age=timedelta(seconds=settings.META_TOKEN_RECHECK_SECONDS))


def apply_check_fields(connection: MetaConnection, check: TokenCheck) -> None:
    """Copy a verdict onto the connection in memory (the caller saves)."""
    connection.token_status = check.status
    connection.token_type = check.token_type
    connection.token_scopes = check.scopes
    connection.token_expires_at = check.expires_at
    connection.token_checked_at = timezone.now()
    connection.token_error = "" if check.status in (Status.VALID, Status.EXPIRING) else check.message


HEALTH_FIELDS = ["token_status", "token_type", "token_scopes", "token_expires_at", "token_checked_at", "token_error"]


def record_check(connection: MetaConnection, check: TokenCheck) -> None:
    """Save a verdict and pause or resume the connection's catalogs accordingly."""
    previous = connection.token_status
    apply_check_fields(connection, check)
    with transaction.atomic():
        connection.save(update_fields=[*HEALTH_FIELDS, "updated_at"])
        if check.blocks_sync:
            pause_catalogs(connection, check)
        else:
            resume_catalogs(connection)
    if previous != check.status:
        logger.info("tenant %s token status %s -> %s", connection.tenant_id, previous, check.status)


def pause_reason(check: TokenCheck) -> str:
    return f"{check.message} Sync is paused until a working token is saved in Settings → WhatsApp Connection."


def pause_kind_for(status: str) -> str:
    """The sync engine's pause kind for a blocking token status."""
    return PauseKind.PERMISSION if status == Status.MISSING_PERMISSION else PauseKind.AUTH


def pause_catalogs(connection: MetaConnection, check: TokenCheck) -> int:
    """Pause every catalog using this token (``sync_enabled`` keeps the merchant's choice).

    A staff pause is left alone: it says more than we do and staff lift it.
    """
    catalogs = (
        Catalog.objects.for_tenant(connection.tenant_id)
        .filter(connection=connection)
        .exclude(pause_kind=PauseKind.MANUAL)
    )
    paused = 0
    for catalog in catalogs:
        pause.pause(catalog, pause_kind_for(check.status), pause_reason(check))
        paused += 1
    return paused


def resume_catalogs(connection: MetaConnection) -> list[int]:
    """Lift token pauses, retry variants that failed for the token, and queue a push; return catalog ids."""
    paused = list(
        Catalog.objects.for_tenant(connection.tenant_id).filter(connection=connection, pause_kind__in=TOKEN_PAUSES)
    )
    if not paused:
        return []
    ids = [catalog.pk for catalog in paused]
    for catalog in paused:
        pause.resume(catalog)
    # Variants refused for the token get another go; everything changed meanwhile is PENDING already.
    item_state.retry_meta_failures(
        Variant.objects.for_tenant(connection.tenant_id).filter(
            catalog_id__in=ids, last_error_code__regex=TOKEN_ERROR_CODES
        ),
        sources=(Variant.FailureSource.INTEGRATION, Variant.FailureSource.META_BATCH),
    )
    for catalog in paused:
        if catalog.sync_enabled and not catalog.is_read_only:
            request_push(catalog.pk, now=True)
    logger.info("tenant %s: token good again, resumed catalogs %s", connection.tenant_id, ids)
    return ids


# -- presentation: the health page and the admin banner ------------------------------------------


FIXES = {
    Status.VALID: "",
    Status.EXPIRING: _(
        "Generate a new token in Meta Business Manager (System users) and paste it in "
        "Settings → WhatsApp Connection before it expires."
    ),
    Status.EXPIRED: _(
        "Generate a new token in Meta Business Manager and paste it in Settings → WhatsApp Connection; "
        "sync resumes by itself."
    ),
    Status.REVOKED: _(
        "Generate a new token in Meta Business Manager (check the system user still has the catalog "
        "assigned) and paste it in Settings → WhatsApp Connection."
    ),
    Status.MISSING_PERMISSION: _(
        "Regenerate the token with the catalog_management permission (and assign the catalog "
        "to the system user), then paste it in Settings → WhatsApp Connection."
    ),
    Status.UNKNOWN: _("Paste a catalog access token in Settings → WhatsApp Connection."),
}


def settings_url(tenant: Tenant) -> str:
    return f"{reverse('connection:whatsapp')}?tenant={tenant.slug}"


def summary(tenant: Tenant | int) -> dict:
    """Token health of ``tenant`` for the health page and the admin banner.

    Keys: ``connected`` (bool), ``status``, ``label``, ``level`` ("ok" / "warning" /
    "error"), ``message``, ``fix``, ``expires_at``, ``days_left``, ``checked_at``,
    ``token_hint`` (last characters only), ``paused_catalogs`` (names), ``url``.
    """
    tenant = tenant if isinstance(tenant, Tenant) else Tenant.objects.get(pk=tenant)
    connection = MetaConnection.objects.for_tenant(tenant).first()
    url = settings_url(tenant)
    if connection is None or not connection.token_last4:
        return {
            "connected": False,
            "status": Status.UNKNOWN,
            "label": gettext("Not connected"),
            "level": "warning",
            "message": gettext("No Meta catalog token is connected: nothing can be synced to Meta."),
            "fix": str(FIXES[Status.UNKNOWN]),
            "expires_at": None,
            "days_left": None,
            "checked_at": None,
            "token_hint": "",
            "paused_catalogs": [],
            "url": url,
        }
    status = connection.token_status
    expires_at = connection.token_expires_at
    days_left = None
    now = timezone.now()
    if expires_at is not None:
        days_left = max((expires_at - now).days, 0)
        # The stored verdict may be a day old: an expiry that has since passed is expired.
        if expires_at <= now and status in (Status.VALID, Status.EXPIRING, Status.UNKNOWN):
            status = Status.EXPIRED
        elif status == Status.VALID and expires_at - now <= timedelta(days=warning_days()):
            status = Status.EXPIRING
    message = _message(status, expires_at, days_left)
    if connection.token_error and status not in (Status.VALID, Status.EXPIRING):
        message = gettext("%(message)s (%(error)s)") % {"message": message, "error": connection.token_error}
    paused = list(
        Catalog.objects.for_tenant(tenant)
        .filter(connection=connection, pause_kind__in=TOKEN_PAUSES)
        .values_list("name", flat=True)
    )
    return {
        "connected": True,
        "status": status,
        "label": str(Status(status).label),
        "level": LEVELS[status],
        "message": message,
        "fix": str(FIXES[status]),
        "expires_at": expires_at,
        "days_left": days_left,
        "checked_at": connection.token_checked_at,
        "token_hint": connection.token_hint,
        "paused_catalogs": paused,
        "url": url,
    }


def _message(status: str, expires_at: datetime | None, days_left: int | None) -> str:
    """What the token's state means for the merchant, in the active language."""
    day = f"{expires_at:%Y-%m-%d}" if expires_at else ""
    if status == Status.VALID:
        if expires_at:
            return gettext("The Meta token is valid until %(day)s.") % {"day": day}
        return gettext("The Meta token is valid.")
    if status == Status.EXPIRING:
        if expires_at:
            return ngettext(
                "The Meta token expires on %(day)s (in %(days)s day).",
                "The Meta token expires on %(day)s (in %(days)s days).",
                days_left or 0,
            ) % {"day": day, "days": days_left}
        return gettext("The Meta token expires soon.")
    if status == Status.EXPIRED:
        if expires_at:
            return gettext("The Meta token expired on %(day)s: nothing reaches Meta.") % {"day": day}
        return gettext("The Meta token expired: nothing reaches Meta.")
    if status == Status.REVOKED:
        return gettext("The Meta token was revoked or is invalid: nothing reaches Meta.")
    if status == Status.MISSING_PERMISSION:
        return gettext("The Meta token lacks the %(scope)s permission: nothing reaches Meta.") % {
            "scope": REQUIRED_SCOPE
        }
    return gettext("The Meta token has not been checked yet.")


def warnings_for_user(user) -> list[dict]:
    """Token warnings (summaries not "ok") for the tenants ``user`` works in (admin banner)."""
    if not user.is_authenticated:
        return []
    tenants = permissions.allowed_tenants(user, permissions.Action.SEE_CONNECTION)
    if user.is_superuser:
        tenants = tenants.filter(pk__in=MetaConnection.objects.values_list("tenant_id", flat=True))
    result = []
    for tenant in tenants.order_by("slug")[:50]:
        item = summary(tenant)
        if item["level"] != "ok":
            result.append({**item, "tenant": tenant})
    return result
