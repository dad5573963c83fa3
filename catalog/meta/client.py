"""A small Graph API client: versioned URLs, typed errors, throttling and retries.

Wire format follows the official SDK (facebook_business ``api.py`` / ``session.py``):
POST bodies are form-encoded with top-level dict/list/bool values JSON-encoded
(``sort_keys``, compact separators), and failure is decided from the body (``"error"``,
``"success": false``), not the status. Unlike the SDK, which puts ``access_token`` in the
query string of every call, the token travels in the ``Authorization: Bearer`` header
(which the Graph API accepts), so it never sits in a URL that a proxy, a server's access
log or an exception message could keep; ``appsecret_proof``, an HMAC of the token, stays
a parameter. ``debug_token`` is the one exception: Meta takes the token to inspect only as
the ``input_token`` query parameter of a GET, so that call carries it there (see
``GraphClient.debug_token``); every log this project configures redacts it.
A POST may instead carry its parameters as one ``application/json`` object (``as_json``),
which the Graph API also accepts: a 5,000-item ``items_batch`` then skips percent-encoding
megabytes of JSON on our side and decoding them on Meta's.

The token is never logged: logs carry the method, the path without its query string,
the status and Meta's ``fbtrace_id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from django.conf import settings

from .errors import GraphAPIError, InvalidRequest, RateLimited, TransientError, error_from_envelope, error_from_http
from .multipart import MultipartBody
from .throttle import Throttle, category_for, parse_usage

logger = logging.getLogger(__name__)

USER_AGENT = "galantis-catalog-sync/1.0"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


class RawJSON:
    """A parameter value that is already JSON text, as UTF-8 bytes (e.g. an items_batch ``requests`` array).

    A JSON body embeds it as is; a form body sends it as the string it is, which is what
    the SDK's own JSON-encoding of the value would have produced. Kept as bytes: one
    non-Latin-1 character makes a Python string four bytes per character, and a
    5,000-item array copied a few times as such cost ~50 MB of peak RSS.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes | str) -> None:
        self.data = data.encode("utf-8") if isinstance(data, str) else data

    def __repr__(self) -> str:
        return f"<RawJSON {len(self.data)} bytes>"


def encode_json_body(params: Mapping[str, Any]) -> bytes:
    """The parameters as one JSON object (``None`` dropped, ``RawJSON`` embedded verbatim)."""
    members = [
        json.dumps(str(key)).encode()
        + b":"
        + (value.data if isinstance(value, RawJSON) else json.dumps(value, ensure_ascii=False).encode("utf-8"))
        for key, value in params.items()
        if value is not None
    ]
    return b"{" + b",".join(members) + b"}"


def encode_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """JSON-encode top-level dict/list/tuple/bool values as the SDK does; drop ``None``."""
    encoded: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, RawJSON):
            encoded[key] = value.data.decode("utf-8")
        elif isinstance(value, Mapping | list | tuple | bool):
            encoded[key] = json.dumps(value, sort_keys=True, separators=(",", ":"))
        else:
            encoded[key] = value
    return encoded


def backoff_delay(attempt: int) -> float:
    """Exponential back-off with full jitter for retry ``attempt`` (0-based)."""
    base = float(_setting("META_RETRY_BASE_DELAY", 1.0))
    cap = float(_setting("META_RETRY_MAX_DELAY", 30.0))
    return random.uniform(0, min(cap, base * (2**attempt)))


class GraphClient:
    """Calls the Graph API for one access token.

    ``throttle_key`` names the quota bucket usage is recorded under (e.g.
    ``catalog:<id>``); by default a digest of the token, so two tenants never share one.
    ``throttle_shared``: wider budgets the calls spend too (a catalog's business).
    """

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str | None = None,
        api_version: str | None = None,
        throttle_key: str = "",
        throttle_shared: tuple[str, ...] = (),
        timeout: float | None = None,
        max_retries: int | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self._access_token = access_token or ""
        self.base_url = (base_url or settings.META_GRAPH_URL).rstrip("/")
        self.api_version = api_version or settings.META_API_VERSION
        token_digest = hashlib.sha256(self._access_token.encode()).hexdigest()[:16]
        self.throttle = Throttle(throttle_key or f"token:{token_digest}", throttle_shared)
        self.timeout = float(timeout if timeout is not None else _setting("META_TIMEOUT", 60))
        self.max_retries = int(max_retries if max_retries is not None else _setting("META_MAX_RETRIES", 3))
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)

    def __repr__(self) -> str:  # never show the token
        return f"<GraphClient {self.base_url}/{self.api_version} throttle={self.throttle.key}>"

    # -- public verbs ------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> dict:
        """GET a node or edge; returns the decoded JSON object."""
        return self.request("GET", path, params=params)

    def post(self, path: str, data: dict | None = None, files: dict | None = None, *, as_json: bool = False) -> dict:
        """POST form data (dict/list values JSON-encoded); ``files`` are sent multipart, streamed from disk.

        ``as_json``: send ``data`` as one ``application/json`` object instead (not with ``files``).
        """
        return self.request("POST", path, data=data, files=files, as_json=as_json)

    def delete(self, path: str, **params: Any) -> dict:
        """DELETE a node or an edge relation."""
        return self.request("DELETE", path, params=params)

    def paginate(self, path: str, **params: Any) -> Iterator[dict]:
        """Yield every element of ``data`` across pages (``cursors.after``, else ``paging.next``)."""
        next_url: str | None = None
        while True:
            page = self.request("GET", next_url) if next_url else self.request("GET", path, params=params)
            data = page.get("data") or []
            yield from data
            paging = page.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not data or not paging.get("next"):
                return
            if after:
                params = {**params, "after": after}
                next_url = None
            else:
                next_url = paging["next"]

    def items_by_retailer_id(
        self, catalog_id: str, retailer_ids: Sequence[str], fields: str, limit: int
    ) -> Iterator[dict]:
        """The catalog's items among ``retailer_ids``: one product search (``is_any``), every page of it."""
        return self.paginate(
            f"{catalog_id}/products",
            fields=fields,
            limit=limit,
            filter=json.dumps({"retailer_id": {"is_any": list(retailer_ids)}}, separators=(",", ":")),
        )

    def debug_token(self, input_token: str | None = None) -> dict:
        """The ``data`` object of ``GET /debug_token`` for ``input_token`` (default: our own token).

        Uses the app token (``META_APP_ID|META_APP_SECRET``) when configured, so an
        expired token can still be inspected; otherwise the token inspects itself.

        Meta documents ``input_token`` only as a query parameter of a GET, so it is the one
        token that travels in a URL. The caller's token (the app token, or this one) still
        goes in the header; logs redact ``input_token`` (``galantis.logredact``) and the
        client never logs or raises with a query string.
        """
        app_id, app_secret = _setting("META_APP_ID", ""), _setting("META_APP_SECRET", "")
        params: dict[str, Any] = {"input_token": input_token or self._access_token}
        token = f"{app_id}|{app_secret}" if app_id and app_secret else None
        return self.request("GET", "debug_token", params=params, token=token).get("data") or {}

    # -- machinery ---------------------------------------------------------------------

    def url_for(self, path: str) -> str:
        """The absolute URL for ``path`` (a node/edge path, or an absolute URL as given)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{self.api_version}/{path.lstrip('/')}"

    def _authorize(self, query: dict[str, Any], token: str | None) -> dict[str, str]:
        """The ``Authorization`` header for ``token`` (default: ours); adds ``appsecret_proof`` to ``query``."""
        token = token or self._access_token
        app_secret = _setting("META_APP_SECRET", "")
        if app_secret and "|" not in token:  # an app token is not proven with itself
            query["appsecret_proof"] = hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        return {"Authorization": f"Bearer {token}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: dict | None = None,
        as_json: bool = False,
        token: str | None = None,
    ) -> dict:
        """Send one call with throttling and retries; return the JSON body or raise GraphAPIError.

        ``token`` replaces this client's token for the one call (the app token of ``debug_token``).

        Retried with exponential back-off and jitter: transient errors (1, 2, 5xx,
        is_transient, timeouts) and rate limits whose wait is short. Never retried:
        auth (190/102), permission (10/200-299) and invalid requests (100, ...).
        """
        method = method.upper()
        url = self.url_for(path)
        split = urlsplit(url)
        # A paging.next URL carries its own query (maybe a stale token): never send a token
        # in it, sign the call afresh. A caller's access_token parameter is dropped the same way.
        query = {k: v for k, v in parse_qsl(split.query) if k not in ("access_token", "appsecret_proof")}
        url = split._replace(query="").geturl()
        query.update(encode_params(params))
        query.pop("access_token", None)
        auth_headers = self._authorize(query, token)
        if as_json and files:
            raise ValueError("A JSON body cannot carry files; send them multipart.")
        body: dict[str, Any] | bytes | None = None
        if data is not None:
            body = encode_json_body(data) if as_json else encode_params(data)
        bucket = category_for(method, split.path)
        attempt = 0
        while True:
            try:
                self.throttle.before_request(bucket)
                return self._send_once(method, url, split.path, query, auth_headers, body, files, bucket)
            except GraphAPIError as error:
                if not error.retryable or attempt >= self.max_retries:
                    raise
                if isinstance(error, RateLimited) and error.retry_after > _setting("META_MAX_INLINE_WAIT", 30):
                    raise  # too long to hold a worker; the caller reschedules
                delay = backoff_delay(attempt)
                if isinstance(error, RateLimited):
                    delay = max(delay, error.retry_after)
                logger.warning(
                    "Graph %s %s failed (%s), retry %d/%d in %.1fs",
                    method,
                    split.path,
                    error.code_label,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                time.sleep(delay)
                attempt += 1
                for value in (files or {}).values():
                    handle = value[1] if isinstance(value, tuple) else value
                    if hasattr(handle, "seek"):
                        handle.seek(0)

    def _send_once(
        self,
        method: str,
        url: str,
        log_path: str,
        query: dict[str, Any],
        auth_headers: dict[str, str],
        body: dict[str, Any] | bytes | MultipartBody | None,
        files: dict | None,
        bucket: str,
    ) -> dict:
        started = time.monotonic()
        headers = dict(auth_headers)
        if isinstance(body, bytes):
            headers["Content-Type"] = "application/json; charset=utf-8"
        if files:
            # Not requests' files=: it builds the whole multipart body in memory (a feed
            # file of a million rows is ~0.5 GB). Same bytes, read from disk as sent.
            body = MultipartBody(body, files)
            headers["Content-Type"] = body.content_type
        try:
            response = self.session.request(method, url, params=query, data=body, headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            # The exception text holds the URL with the token: never pass it on.
            raise TransientError(f"Graph API timed out after {self.timeout:.0f}s ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            raise TransientError(f"Could not reach the Graph API ({type(exc).__name__})") from None
        elapsed = time.monotonic() - started
        usage = parse_usage(response.headers)
        self.throttle.record_usage(usage)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        error = self._error_for(response, payload, usage, bucket)
        logger.info(
            "Graph %s %s -> %s in %.2fs%s",
            method,
            log_path,
            response.status_code,
            elapsed,
            f" ({error.code_label}, fbtrace_id={error.fbtrace_id})" if error else "",
        )
        if error is not None:
            if isinstance(error, RateLimited):
                self.throttle.record_rate_limit(error, bucket)
            raise error
        if isinstance(payload, dict):
            return payload
        if isinstance(payload, list):
            return {"data": payload}
        if payload is None:
            return {}
        return {"success": bool(payload)}

    @staticmethod
    def _error_for(response: requests.Response, payload: Any, usage: Any, bucket: str) -> GraphAPIError | None:
        status = response.status_code
        retry_after = (usage.regain_seconds or {}).get(bucket, 0.0)
        if not retry_after and (header := response.headers.get("Retry-After", "")).isdigit():
            retry_after = float(header)
        if isinstance(payload, dict) and "error" in payload:
            return error_from_envelope(payload["error"], http_status=status, retry_after=retry_after)
        if payload is None:
            text = response.text or ""
            if status >= 400 or "Service Unavailable" in text:
                return error_from_http(status if status >= 400 else 503, text, retry_after=retry_after)
            if text.strip():
                return InvalidRequest(f"Graph API answered HTTP {status} with a non-JSON body", http_status=status)
            return None
        if status >= 400:
            return error_from_http(status, json.dumps(payload)[:200], retry_after=retry_after)
        if isinstance(payload, dict) and payload.get("success") is False:
            return InvalidRequest("Graph API answered success: false", http_status=status)
        return None
