"""Meta's error envelope mapped to typed exceptions.

Meta decides failure from the body, not the HTTP status: a 200 carrying ``"error"``
is a failure, so is ``"success": false`` and a non-JSON "Service Unavailable" page
(facebook_business ``FacebookResponse.is_success``). The class tells callers what to
do: re-authenticate, fix permissions, back off, retry, or fix the request.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

# Error codes by what the caller must do (docs/graph-api.md §2, "Error envelope, codes").
AUTH_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
# App / user / page level limits, and the business use case (BUC) ones.
APP_RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613})
BUC_RATE_LIMIT_CODES = frozenset({80004, 80009, 80014})
RATE_LIMIT_CODES = APP_RATE_LIMIT_CODES | BUC_RATE_LIMIT_CODES
TRANSIENT_CODES = frozenset({1, 2})
# Never retried automatically, even when Meta marks them transient.
NEVER_RETRY_CODES = AUTH_CODES | PERMISSION_CODES | frozenset({100, 368})

CATALOG_BATCH_RATE_LIMIT = 80014  # items_batch, batch, localized_items_batch
CATALOG_MANAGEMENT_RATE_LIMIT = 80009  # every other catalog endpoint


class GraphAPIError(Exception):
    """A failed Graph API call, with Meta's error fields."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        error_type: str = "",
        fbtrace_id: str = "",
        http_status: int | None = None,
        is_transient: bool = False,
        user_title: str = "",
        user_message: str = "",
        error_data: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.error_type = error_type
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_message = user_message
        self.error_data = error_data

    def __str__(self) -> str:
        parts = [f"#{self.code}" if self.code is not None else "", self.message]
        if self.subcode:
            parts.append(f"(subcode {self.subcode})")
        return " ".join(p for p in parts if p)

    @property
    def code_label(self) -> str:
        """Short code for storage in ``last_error_code`` (e.g. ``190/463``)."""
        if self.code is None:
            return f"HTTP {self.http_status}" if self.http_status else type(self).__name__
        return f"{self.code}/{self.subcode}" if self.subcode else str(self.code)


class AuthError(GraphAPIError):
    """The token is invalid, expired or revoked (190, 102): re-authenticate."""


class PermissionDenied(GraphAPIError):
    """The token lacks a permission or the asset is not assigned (10, 200-299)."""


class RateLimited(GraphAPIError):
    """Meta throttles us (4, 17, 32, 613, 80004, 80009, 80014): wait ``retry_after`` seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float = 0.0, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(float(retry_after), 0.0)


class TransientError(GraphAPIError):
    """Meta is down or hiccuped (1, 2, HTTP 5xx, is_transient, timeouts): retry later."""

    retryable = True


class InvalidRequest(GraphAPIError):
    """The request itself is wrong (100 and every other code): fix it, do not retry."""


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def error_class_for(code: int | None, http_status: int | None, is_transient: bool) -> type[GraphAPIError]:
    """The exception class for an error code (checked first) and HTTP status."""
    if code in AUTH_CODES:
        return AuthError
    if code in PERMISSION_CODES:
        return PermissionDenied
    if code in RATE_LIMIT_CODES:
        return RateLimited
    if code in NEVER_RETRY_CODES:
        return InvalidRequest
    if code in TRANSIENT_CODES or is_transient or (http_status or 0) >= 500:
        return TransientError
    if http_status == 429:
        return RateLimited
    return InvalidRequest


def error_from_envelope(error: Any, *, http_status: int | None = None, retry_after: float = 0.0) -> GraphAPIError:
    """Build the typed error for Meta's ``{"error": {...}}`` object (or a bare string)."""
    if not isinstance(error, dict):
        error = {"message": str(error)}
    code = _as_int(error.get("code"))
    is_transient = bool(error.get("is_transient", False))
    error_data = error.get("error_data")
    if isinstance(error_data, str):
        # Meta sometimes sends error_data as a JSON string (SDK api_blame_field_specs).
        with contextlib.suppress(ValueError):
            error_data = json.loads(error_data)
    cls = error_class_for(code, http_status, is_transient)
    kwargs: dict[str, Any] = {
        "code": code,
        "subcode": _as_int(error.get("error_subcode")),
        "error_type": str(error.get("type", "")),
        "fbtrace_id": str(error.get("fbtrace_id", "")),
        "http_status": http_status,
        "is_transient": is_transient or cls is TransientError,
        "user_title": str(error.get("error_user_title", "")),
        "user_message": str(error.get("error_user_msg", "")),
        "error_data": error_data,
    }
    if cls is RateLimited:
        kwargs["retry_after"] = retry_after
    return cls(str(error.get("message") or "Unknown Graph API error"), **kwargs)


def error_from_http(http_status: int, text: str, *, retry_after: float = 0.0) -> GraphAPIError:
    """A typed error for a failure without Meta's envelope (HTML error page, empty body...)."""
    snippet = " ".join((text or "").split())[:200]
    message = f"HTTP {http_status} from the Graph API" + (f": {snippet}" if snippet else "")
    if http_status >= 500 or "Service Unavailable" in (text or ""):
        return TransientError(message, http_status=http_status, is_transient=True)
    if http_status == 429:
        return RateLimited(message, http_status=http_status, retry_after=retry_after)
    return InvalidRequest(message, http_status=http_status)
