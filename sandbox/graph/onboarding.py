"""Meta's side of the onboarding (Facebook Business Extension) webhook: build, sign and POST one.

The envelope is every Graph API webhook's (``object``, ``entry[].id/time/changes[].field/value``),
signed as Meta signs them: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body,
keyed with the app secret>``. The value names the installation's assets as the FBE
installation API does (``business_manager_id``, ``catalog_id``, ``pixel_id``, ``page_id``,
``fbe_external_business_id``, ``installed_features``). Sent over real HTTP, like the Shopify
sandbox's webhooks, so the receiver is tested as it runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import requests

from sandbox.graph_accounts import sandbox_app

OBJECT = "fbe_install"
FIELD = "fbe_install"
USER_AGENT = "facebookexternalua"


def sign(body: bytes, app_secret: str) -> str:
    """``X-Hub-Signature-256`` of ``body``."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def build_payload(
    *,
    business_id: str,
    catalog_id: str = "",
    pixel_id: str = "",
    page_id: str = "",
    external_business_id: str = "",
    entry_time: int | None = None,
    entry_id: str | None = None,
) -> dict[str, Any]:
    """One ``fbe_install`` notification for the given assets (blank ones left out)."""
    value: dict[str, Any] = {"business_manager_id": business_id}
    for key, asset in (
        ("catalog_id", catalog_id),
        ("pixel_id", pixel_id),
        ("page_id", page_id),
        ("fbe_external_business_id", external_business_id),
    ):
        if asset:
            value[key] = asset
    value["installed_features"] = [
        {"feature_type": "catalog", "connected_assets": {"catalog_id": catalog_id}} if catalog_id else None,
        {"feature_type": "pixel", "connected_assets": {"pixel_id": pixel_id}} if pixel_id else None,
    ]
    value["installed_features"] = [feature for feature in value["installed_features"] if feature]
    return {
        "object": OBJECT,
        "entry": [
            {
                "id": entry_id or sandbox_app().fbid,
                "time": int(time.time()) if entry_time is None else entry_time,
                "changes": [{"field": FIELD, "value": value}],
            }
        ],
    }


def send(
    url: str, payload: dict[str, Any] | bytes, *, app_secret: str, signature: str | None = None, timeout: float = 10.0
) -> requests.Response:
    """POST ``payload`` to ``url`` signed with ``app_secret`` (``signature`` overrides it, for bad-input tests)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Hub-Signature-256": signature if signature is not None else sign(body, app_secret),
    }
    return requests.post(url, data=body, headers=headers, timeout=timeout)
