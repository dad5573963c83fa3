"""``GET /debug_token``: what Meta says about an access token (docs/graph-api.md §1)."""

from __future__ import annotations

from datetime import datetime

from ..models import AccessToken, ProductCatalog
from . import auth, errors


def _timestamp(value: datetime | None) -> int:
    # 0 means "never" (non-expiring system-user tokens).
    return int(value.timestamp()) if value else 0


def _granular_scopes(token: AccessToken) -> list[dict]:
    business = token.business
    catalog_ids = token.assigned_catalog_ids or [
        catalog.fbid for catalog in ProductCatalog.objects.filter(business=business).only("pk")
    ]
    granular = []
    for scope in token.scopes:
        if scope == "catalog_management":
            granular.append({"scope": scope, "target_ids": list(catalog_ids)})
        elif scope == "business_management":
            granular.append({"scope": scope, "target_ids": [business.fbid]})
        else:
            granular.append({"scope": scope})
    return granular


def describe_token(raw: str, now: datetime) -> dict:
    """The ``data`` object of ``GET /debug_token?input_token=...``."""
    app = auth.find_app_token(raw)
    if app is not None:
        return {"app_id": app.fbid, "type": "APP", "application": app.name, "is_valid": True, "scopes": []}
    token = auth.lookup(raw)
    if token is None:
        error = errors.invalid_token()
        return {"error": {"code": error.code, "message": error.message}, "is_valid": False, "scopes": []}
    data: dict = {
        "app_id": token.app.fbid,
        "type": token.type,
        "application": token.app.name,
        "data_access_expires_at": _timestamp(token.data_access_expires_at),
        "expires_at": _timestamp(token.expires_at),
        "is_valid": True,
        "issued_at": _timestamp(token.issued_at),
        "scopes": list(token.scopes),
        "granular_scopes": _granular_scopes(token),
        "user_id": token.system_user.fbid,
    }
    try:
        auth.check_token(token, now)
    except errors.GraphError as error:
        data["is_valid"] = False
        data["error"] = {"code": error.code, "message": error.message, "subcode": error.subcode}
    return data
