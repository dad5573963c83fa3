"""Meta's error envelope and the errors the sandbox answers with (docs/graph-api.md §2).

Every failure the sandbox reports is a ``GraphError``; the dispatcher turns it into
``{"error": {...}}`` JSON with the HTTP status Meta uses, so the SDK parses it into a
``FacebookRequestError`` with the right code, subcode, type and ``is_transient``.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime

_TRACE_ALPHABET = string.ascii_letters + string.digits + "-_"


def new_fbtrace_id() -> str:
    """An opaque trace id like Meta's ``fbtrace_id``."""
    return "A" + "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(22))


class GraphError(Exception):
    """A Graph API error answer."""

    def __init__(
        self,
        message: str,
        *,
        code: int,
        type: str = "OAuthException",
        subcode: int | None = None,
        http_status: int = 400,
        is_transient: bool | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        error_data: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.type = type
        self.subcode = subcode
        self.http_status = http_status
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_msg = user_msg
        self.error_data = error_data
        self.headers = headers or {}

    def envelope(self, fbtrace_id: str) -> dict:
        error: dict = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.is_transient is not None:
            error["is_transient"] = self.is_transient
        if self.user_title:
            error["error_user_title"] = self.user_title
        if self.user_msg:
            error["error_user_msg"] = self.user_msg
        if self.error_data is not None:
            error["error_data"] = self.error_data
        error["fbtrace_id"] = fbtrace_id
        return {"error": error}


# --- access tokens (code 190) -------------------------------------------------------


def missing_token() -> GraphError:
    return GraphError("An access token is required to request this resource.", code=190)


def invalid_token() -> GraphError:
    return GraphError("Invalid OAuth access token - Cannot parse access token", code=190, subcode=467)


def expired_token(expired_at: datetime, now: datetime) -> GraphError:
    stamp = "%A, %d-%b-%y %H:%M:%S UTC"
    return GraphError(
        f"Error validating access token: Session has expired on {expired_at.strftime(stamp)}. "
        f"The current time is {now.strftime(stamp)}.",
        code=190,
        subcode=463,
    )


def revoked_token() -> GraphError:
    return GraphError(
        "Error validating access token: The session has been invalidated because the user changed their "
        "password or Facebook has changed the session for security reasons.",
        code=190,
        subcode=467,
    )


def bad_appsecret_proof() -> GraphError:
    return GraphError("Invalid appsecret_proof provided in the API argument", code=100, type="GraphMethodException")


# --- permissions (code 200) ---------------------------------------------------------


def missing_permission(scope: str) -> GraphError:
    return GraphError(f"(#200) Requires {scope} permission to manage the object", code=200, http_status=403)


def asset_not_assigned(object_id: str) -> GraphError:
    return GraphError(
        f"(#200) The system user is not assigned to the object {object_id}. Assign the asset in Business Settings.",
        code=200,
        http_status=403,
    )


# --- request shape (code 100 / 2500) ------------------------------------------------


def unknown_object(object_id: str, method: str) -> GraphError:
    return GraphError(
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        code=100,
        subcode=33,
        type="GraphMethodException",
    )


def unknown_path(components: str) -> GraphError:
    return GraphError(f"Unknown path components: /{components}", code=2500)


def unsupported_method(method: str, what: str) -> GraphError:
    return GraphError(f"(#100) Unsupported {method.lower()} request on {what}.", code=100, type="GraphMethodException")


def param_required(name: str) -> GraphError:
    return GraphError(f"(#100) The parameter {name} is required", code=100)


def invalid_param(message: str, *, user_msg: str | None = None) -> GraphError:
    return GraphError(
        f"(#100) {message}", code=100, user_title="Invalid parameter" if user_msg else None, user_msg=user_msg
    )


def nonexisting_field(field: str, node_type: str) -> GraphError:
    return GraphError(f"(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})", code=100)


def too_much_data() -> GraphError:
    return GraphError(
        "Please reduce the amount of data you're asking for, then retry your request", code=1, is_transient=False
    )


# --- availability (codes 1 / 2 / 80009 / 80014) -------------------------------------


def transient(http_status: int = 500) -> GraphError:
    return GraphError(
        "An unexpected error has occurred. Please retry your request later.",
        code=2,
        is_transient=True,
        http_status=http_status,
    )


def service_unavailable() -> GraphError:
    return GraphError(
        "(#2) Service temporarily unavailable", code=2, type="OAuthException", is_transient=True, http_status=503
    )


def unknown_error() -> GraphError:
    return GraphError("An unknown error has occurred.", code=1, is_transient=True, http_status=500)


def catalog_batch_rate_limited() -> GraphError:
    return GraphError(
        "(#80014) There have been too many calls for the batch uploads to this catalog account. Wait a bit and "
        "try again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting#catalog.",
        code=80014,
        is_transient=False,
    )


def catalog_management_rate_limited() -> GraphError:
    return GraphError(
        "(#80009) There have been too many calls to this Catalog account. Wait a bit and try again. For more "
        "info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting#catalog.",
        code=80009,
        is_transient=False,
    )
