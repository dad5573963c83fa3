"""Who is calling: the access token (query, body or ``Authorization`` header), its
validity, scopes and the ``appsecret_proof`` when the app requires one."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest

from ..models import AccessToken, Business, SandboxApp
from . import errors
from .params import Params


@dataclass
class Caller:
    """The authenticated caller of one request."""

    raw_token: str
    token: AccessToken | None = None
    app: SandboxApp | None = None
    # True when the token travelled in the query string (Meta repeats it in paging links).
    token_in_query: bool = False

    @property
    def business(self) -> Business | None:
        return self.token.business if self.token else None

    def require_scope(self, scope: str) -> None:
        """Permission error (#200) unless the token was granted ``scope``."""
        if self.token is None or not self.token.has_scope(scope):
            raise errors.missing_permission(scope)


def token_from_request(request: HttpRequest, params: Params) -> tuple[str, bool]:
    """The access token of a call and whether it came in the query string."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip(), False
    token = params.str("access_token").strip()
    return token, bool(token) and "access_token" in request.GET


def find_app_token(raw: str) -> SandboxApp | None:
    """``APP_ID|APP_SECRET`` app access tokens."""
    app_id, sep, secret = raw.partition("|")
    if not sep:
        return None
    pk = SandboxApp.pk_from_fbid(app_id)
    app = SandboxApp.objects.filter(pk=pk).first() if pk else None
    if app is None or not hmac.compare_digest(app.secret, secret):
        return None
    return app


def lookup(raw: str) -> AccessToken | None:
    return AccessToken.objects.select_related("app", "system_user__business").filter(token=raw).first()


def check_token(token: AccessToken, now: datetime) -> None:
    """Raise the 190 error Meta gives for an expired or revoked token."""
    state = token.state(now)
    if state == AccessToken.State.REVOKED:
        raise errors.revoked_token()
    if state == AccessToken.State.EXPIRED:
        raise errors.expired_token(token.expires_at, now)


def appsecret_proof(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), msg=token.encode(), digestmod=hashlib.sha256).hexdigest()


def authenticate(request: HttpRequest, params: Params, now: datetime) -> Caller:
    """Identify the caller or raise Meta's 190 error envelope."""
    raw, in_query = token_from_request(request, params)
    if not raw:
        raise errors.missing_token()
    app = find_app_token(raw)
    if app is not None:
        return Caller(raw_token=raw, app=app, token_in_query=in_query)
    token = lookup(raw)
    if token is None:
        raise errors.invalid_token()
    check_token(token, now)
    proof = params.str("appsecret_proof")
    if token.app.require_appsecret_proof:
        # Only apps with "Require App Secret" check the proof, as on Meta.
        if not proof:
            raise errors.GraphError(
                "API calls from the server require an appsecret_proof argument", code=100, type="GraphMethodException"
            )
        if not hmac.compare_digest(proof, appsecret_proof(token.app.secret, token.token)):
            raise errors.bad_appsecret_proof()
    return Caller(raw_token=raw, token=token, app=token.app, token_in_query=in_query)
