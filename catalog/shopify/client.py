"""Shopify Admin API GraphQL client (``requests``), faithful to docs/shopify-api.md.

- One endpoint: ``POST {admin_url}/{version}/graphql.json`` with ``X-Shopify-Access-Token``.
- Cost-based throttle: every response carries ``extensions.cost.throttleStatus``; a
  ``THROTTLED`` answer (HTTP 200, or 429 from some proxies) is waited out for
  ``(requested - currentlyAvailable) / restoreRate`` seconds and retried, and the client
  paces itself when the bucket runs low, so a big import slows down instead of failing.
- Transient failures (5xx, timeouts, connection errors) are retried with exponential
  backoff; a bad token (401), missing scope (403) or unknown shop (404) raise typed errors
  at once (retrying cannot fix them).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson
import requests
from django.conf import settings

from . import queries
from .errors import (
    BulkOperationFailed,
    ShopifyAuthError,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyPermissionError,
    ShopifyThrottled,
    ShopifyTransientError,
    ShopifyUserError,
    ShopNotFound,
    ShopUnavailable,
)

logger = logging.getLogger(__name__)

# Transient failures retried before giving up (with exponential backoff in between).
MAX_TRANSIENT_RETRIES = 5
# THROTTLED answers waited out before giving up: each wait is computed from the bucket,
# so this only trips when the shop stays saturated for minutes.
MAX_THROTTLE_RETRIES = 30
# Longest single back-off or throttle wait, in seconds.
MAX_WAIT_SECONDS = 60.0
# Connect and read timeouts (seconds); bulk JSONL downloads may stream for a long time
# but each read returns quickly.
TIMEOUT = (10, 60)
# Page size of connections other than products/variants.
SUBSCRIPTIONS_PAGE = 100
BULK_FINISHED = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")


def gid_number(gid: str | int | None) -> int | None:
    """The numeric id at the end of a Shopify global id (``gid://shopify/Product/7`` -> 7)."""
    if gid is None or gid == "":
        return None
    if isinstance(gid, int):
        return gid
    tail = str(gid).rsplit("/", 1)[-1].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


def global_id(kind: str, number: int | str) -> str:
    """The Shopify global id of a numeric id (``"Product", 7`` -> ``gid://shopify/Product/7``); a gid as it is."""
    return str(number) if str(number).startswith("gid://") else f"gid://shopify/{kind}/{number}"


def admin_base(shop_domain: str, admin_url: str = "") -> str:
    """Admin API base without version (the store's ``admin_url`` or the shop's own)."""
    return (admin_url or f"https://{shop_domain}/admin/api").rstrip("/")


@dataclass
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float

    @classmethod
    def from_extensions(cls, extensions: dict | None) -> ThrottleStatus | None:
        status = ((extensions or {}).get("cost") or {}).get("throttleStatus")
        if not status:
            return None
        try:
            return cls(
                float(status["maximumAvailable"]),
                float(status["currentlyAvailable"]),
                float(status["restoreRate"]) or 1.0,
            )
        except (KeyError, TypeError, ValueError):
            return None


class ShopifyClient:
    """A GraphQL Admin API client for one shop."""

    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        *,
        admin_url: str = "",
        api_version: str = "",
        session: requests.Session | None = None,
        backoff_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.shop_domain = shop_domain
        self.api_version = api_version or settings.SHOPIFY_API_VERSION
        self.endpoint = f"{admin_base(shop_domain, admin_url)}/{self.api_version}/graphql.json"
        self.session = session or requests.Session()
        self.session.headers.update(
            {"X-Shopify-Access-Token": access_token, "Content-Type": "application/json", "Accept": "application/json"}
        )
        self.backoff_seconds = settings.SHOPIFY_BACKOFF_SECONDS if backoff_seconds is None else backoff_seconds
        self.sleep = sleep
        self.throttle: ThrottleStatus | None = None
        # When self.throttle was last known (monotonic): the bucket refills while we work.
        self.throttle_seen_at = 0.0
        self.last_requested_cost = 0.0
        # Requested cost Shopify reported per (document, page size): what the next call of the
        # same query must find in the bucket (a cheap query does not wait for a page's cost).
        self.requested_costs: dict[tuple[str, object], float] = {}
        # Observability for operators and tests: how often we waited, and for how long.
        self.throttle_waits = 0
        self.throttle_waited_seconds = 0.0
        self.retries = 0

    @classmethod
    def for_store(cls, store, **kwargs) -> ShopifyClient:
        """A client for a ``catalog.ShopifyStore`` (its admin_url, api_version and token)."""
        return cls(
            store.shop_domain,
            store.access_token,
            admin_url=store.admin_url,
            api_version=store.api_version,
            **kwargs,
        )

    # -- transport -----------------------------------------------------------------

    def execute(self, query: str, variables: dict | None = None) -> dict:
        """Run one GraphQL document and return its ``data`` (throttle and retries handled)."""
        body = {"query": query, "variables": variables or {}}
        cost_key = (query, (variables or {}).get("first"))
        transient_attempts = 0
        throttle_attempts = 0
        while True:
            # A document not seen yet is sent as is: a THROTTLED answer names its cost.
            self._pace(self.requested_costs.get(cost_key, 0.0))
            try:
                response = self.session.post(self.endpoint, json=body, timeout=TIMEOUT)
            except (requests.ConnectionError, requests.Timeout) as exc:
                transient_attempts += 1
                if transient_attempts > MAX_TRANSIENT_RETRIES:
                    raise ShopifyTransientError(f"Shopify unreachable at {self.endpoint}: {exc}") from exc
                self._backoff(transient_attempts, f"connection error: {exc}")
                continue

            status = response.status_code
            if status == 429:
                throttle_attempts += 1
                if throttle_attempts > MAX_THROTTLE_RETRIES:
                    raise ShopifyThrottled("Shopify kept answering 429 Too Many Requests.", http_status=429)
                self._wait_throttled(self._parse_json(response, allow_invalid=True), response)
                continue
            if status >= 500:
                transient_attempts += 1
                if transient_attempts > MAX_TRANSIENT_RETRIES:
                    raise ShopifyTransientError(
                        f"Shopify answered HTTP {status} {MAX_TRANSIENT_RETRIES + 1} times.", http_status=status
                    )
                self._backoff(transient_attempts, f"HTTP {status}")
                continue
            if status >= 400:
                raise self._http_error(response)

            payload = self._parse_json(response)
            status_now = ThrottleStatus.from_extensions(payload.get("extensions"))
            if status_now is not None:
                self.throttle, self.throttle_seen_at = status_now, time.monotonic()
            cost = (payload.get("extensions") or {}).get("cost") or {}
            self.last_requested_cost = float(cost.get("requestedQueryCost") or 0)
            if self.last_requested_cost:
                self.requested_costs[cost_key] = self.last_requested_cost
            errors = payload.get("errors") or []
            if errors:
                codes = {((e or {}).get("extensions") or {}).get("code") for e in errors}
                if "THROTTLED" in codes:
                    throttle_attempts += 1
                    if throttle_attempts > MAX_THROTTLE_RETRIES:
                        raise ShopifyThrottled(f"Still THROTTLED after {MAX_THROTTLE_RETRIES} waits.", code="THROTTLED")
                    self._wait_throttled(payload, response)
                    continue
                if "INTERNAL_SERVER_ERROR" in codes:
                    transient_attempts += 1
                    if transient_attempts > MAX_TRANSIENT_RETRIES:
                        raise ShopifyTransientError(_error_text(errors), code="INTERNAL_SERVER_ERROR")
                    self._backoff(transient_attempts, "INTERNAL_SERVER_ERROR")
                    continue
                if "ACCESS_DENIED" in codes:
                    raise ShopifyPermissionError(_error_text(errors), code="ACCESS_DENIED")
                code = next((c for c in codes if c), "")
                raise ShopifyGraphQLError(_error_text(errors), code=code)
            return payload.get("data") or {}

    def _parse_json(self, response: requests.Response, *, allow_invalid: bool = False) -> dict:
        try:
            payload = response.json()
        except ValueError as exc:
            if allow_invalid:
                return {}
            raise ShopifyTransientError(
                f"Shopify answered HTTP {response.status_code} with a body that is not JSON.",
                http_status=response.status_code,
            ) from exc
        return payload if isinstance(payload, dict) else {}

    def _http_error(self, response: requests.Response) -> ShopifyError:
        status = response.status_code
        detail = ""
        try:
            body = response.json()
            detail = str(body.get("errors") or "") if isinstance(body, dict) else ""
        except ValueError:
            detail = ""
        suffix = f" ({detail})" if detail else ""
        if status == 401:
            return ShopifyAuthError(
                f"Shopify rejected the Admin API access token for {self.shop_domain} (HTTP 401){suffix}.",
                http_status=status,
            )
        if status == 403:
            return ShopifyPermissionError(
                f"The Admin API token for {self.shop_domain} lacks a required scope (HTTP 403){suffix}.",
                http_status=status,
            )
        if status == 404:
            return ShopNotFound(
                f"No Shopify shop answers at {self.endpoint} (HTTP 404): check the shop domain.", http_status=status
            )
        if status in (402, 423):
            state = "frozen (unpaid)" if status == 402 else "locked"
            return ShopUnavailable(f"The shop {self.shop_domain} is {state} (HTTP {status}).", http_status=status)
        return ShopifyError(f"Shopify answered HTTP {status}{suffix}.", http_status=status)

    def _backoff(self, attempt: int, reason: str) -> None:
        delay = min(MAX_WAIT_SECONDS, self.backoff_seconds * (2 ** (attempt - 1)))
        delay *= 0.5 + random.random() / 2  # jitter, so workers don't retry in lockstep
        self.retries += 1
        logger.warning("Shopify %s: %s; retry %s in %.2fs", self.shop_domain, reason, attempt, delay)
        self.sleep(delay)

    def _wait_throttled(self, payload: dict, response: requests.Response) -> None:
        cost = ((payload or {}).get("extensions") or {}).get("cost") or {}
        status = ThrottleStatus.from_extensions((payload or {}).get("extensions"))
        requested = float(cost.get("requestedQueryCost") or 0)
        if status is not None:
            self.throttle, self.throttle_seen_at = status, time.monotonic()
            wait = max(0.0, requested - status.currently_available) / status.restore_rate
        else:
            retry_after = response.headers.get("Retry-After", "")
            try:
                wait = float(retry_after)
            except ValueError:
                wait = self.backoff_seconds
        # A small margin so the bucket really holds the cost when we come back.
        wait = min(MAX_WAIT_SECONDS, wait + 0.05)
        self.throttle_waits += 1
        self.throttle_waited_seconds += wait
        logger.info("Shopify %s throttled; waiting %.2fs", self.shop_domain, wait)
        self.sleep(wait)

    def _pace(self, requested: float) -> None:
        """Sleep before a call the bucket cannot pay for (cheaper than a THROTTLED round trip).

        Shopify reserves the requested cost up front, so the bucket must hold it; what it
        held at the last answer has grown at the restore rate since (while we stored the
        page), so only the rest is waited for.
        """
        if self.throttle is None or not requested:
            return
        throttle = self.throttle
        refilled = max(0.0, time.monotonic() - self.throttle_seen_at) * throttle.restore_rate
        available = min(throttle.maximum_available, throttle.currently_available + refilled)
        missing = min(requested, throttle.maximum_available) - available
        if missing > 0:
            # The same small margin as a THROTTLED wait: the shop's clock is not ours.
            wait = min(MAX_WAIT_SECONDS, missing / throttle.restore_rate + 0.05)
            self.throttle_waits += 1
            self.throttle_waited_seconds += wait
            self.sleep(wait)
            # Assume the bucket refilled what we waited for; the next answer tells the truth.
            available += wait * throttle.restore_rate
        throttle.currently_available = available
        self.throttle_seen_at = time.monotonic()

    # -- shop ------------------------------------------------------------------------

    def shop(self) -> dict:
        """``shop { name myshopifyDomain currencyCode primaryDomain { url host } }``."""
        return self.execute(queries.SHOP)["shop"]

    def products_count(self, search: str | None = None) -> int | None:
        """Number of products (for progress); None when Shopify cannot say."""
        try:
            data = self.execute(queries.PRODUCTS_COUNT, {"query": search})
        except ShopifyGraphQLError:
            return None
        return ((data.get("productsCount") or {}).get("count")) or 0

    def _pages(self, query: str, variables: dict, *path: str) -> Iterator[dict]:
        """Each page of the connection at ``path`` in the answer, following ``endCursor`` to the last page.

        A connection that is not there (its parent is gone, as a deleted collection) has no page.
        """
        after = None
        while True:
            connection = self.execute(query, {**variables, "after": after})
            for key in path:
                connection = connection.get(key) or {}
            if not connection:
                return
            yield connection
            page_info = connection.get("pageInfo") or {}
            if not page_info.get("hasNextPage"):
                return
            after = page_info.get("endCursor")

    # -- products (paged) --------------------------------------------------------------

    def iter_products(
        self,
        *,
        search: str | None = None,
        page_size: int = queries.PRODUCTS_PAGE,
        on_page: Callable[[], None] | None = None,
    ) -> Iterator[dict]:
        """Every product node (``search`` = Shopify search syntax), each with all its variants.

        Variants beyond the first page of a product are fetched with ``product(id:)``
        pages, so products with up to 2,048 variants come out whole.
        """
        after = None
        while True:
            if on_page:
                on_page()
            try:
                data = self.execute(queries.PRODUCTS, {"first": page_size, "after": after, "query": search})
            except ShopifyGraphQLError as exc:
                # Shopify refuses queries above the single-query cost limit; ask for fewer.
                if exc.code == "MAX_COST_EXCEEDED" and page_size > 1:
                    page_size = max(1, page_size // 2)
                    continue
                raise
            connection = data["products"]
            for node in _nodes(connection):
                self._complete_variants(node)
                yield node
            page_info = connection.get("pageInfo") or {}
            if not page_info.get("hasNextPage"):
                return
            after = page_info.get("endCursor")

    def product(self, product_id: int | str) -> dict | None:
        """One product node with all variants, or None if it no longer exists."""
        node = self.execute(queries.PRODUCT, {"id": global_id("Product", product_id)}).get("product")
        if node:
            self._complete_variants(node)
        return node

    def _complete_variants(self, node: dict) -> None:
        variants = node.get("variants") or {}
        nodes = list(_nodes(variants))
        page_info = variants.get("pageInfo") or {}
        while page_info.get("hasNextPage"):
            data = self.execute(
                queries.PRODUCT_VARIANTS,
                {"id": node["id"], "first": queries.VARIANTS_PAGE, "after": page_info.get("endCursor")},
            )
            more = (data.get("product") or {}).get("variants") or {}
            nodes.extend(_nodes(more))
            page_info = more.get("pageInfo") or {}
        node["variants"] = {"nodes": nodes, "pageInfo": {"hasNextPage": False}}

    # -- collections ------------------------------------------------------------------

    def iter_collections(self) -> Iterator[dict]:
        """Every collection node (id, legacyResourceId, title, handle, updatedAt)."""
        for connection in self._pages(queries.COLLECTIONS, {"first": queries.COLLECTIONS_PAGE}, "collections"):
            yield from _nodes(connection)

    def collection(self, collection_id: int | str) -> dict | None:
        return self.execute(queries.COLLECTION, {"id": global_id("Collection", collection_id)}).get("collection")

    def iter_collection_product_ids(self, collection_id: int | str) -> Iterator[int]:
        """Numeric ids of the products in one collection."""
        variables = {"id": global_id("Collection", collection_id), "first": queries.COLLECTION_PRODUCTS_PAGE}
        for connection in self._pages(queries.COLLECTION_PRODUCTS, variables, "collection", "products"):
            for node in _nodes(connection):
                if (number := gid_number(node.get("legacyResourceId"))) is not None:
                    yield number

    # -- inventory --------------------------------------------------------------------

    def inventory_item(self, inventory_item_id: int | str) -> dict | None:
        """An inventory item with its variant's total ``inventoryQuantity`` (all locations)."""
        gid = global_id("InventoryItem", inventory_item_id)
        return self.execute(queries.INVENTORY_ITEM, {"id": gid}).get("inventoryItem")

    # -- bulk operations --------------------------------------------------------------

    def run_bulk_query(self, query: str) -> str:
        """Start a bulk query; return its ``gid://shopify/BulkOperation/…`` id."""
        data = self.execute(queries.BULK_RUN_QUERY, {"query": query})["bulkOperationRunQuery"]
        errors = data.get("userErrors") or []
        if errors:
            code = (errors[0] or {}).get("code") or ""
            raise ShopifyUserError(
                "bulkOperationRunQuery refused: " + "; ".join(str(e.get("message")) for e in errors),
                user_errors=errors,
                code=code,
            )
        return data["bulkOperation"]["id"]

    def bulk_operation(self, operation_id: str) -> dict:
        node = self.execute(queries.BULK_OPERATION, {"id": operation_id}).get("node")
        if not node:
            raise BulkOperationFailed(f"Bulk operation {operation_id} not found.")
        return node

    def current_bulk_operation(self) -> dict | None:
        return self.execute(queries.CURRENT_BULK_OPERATION).get("currentBulkOperation")

    def cancel_bulk_operation(self, operation_id: str) -> None:
        self.execute(queries.BULK_CANCEL, {"id": operation_id})

    def wait_for_bulk_operation(
        self,
        operation_id: str,
        *,
        poll_seconds: float | None = None,
        timeout_seconds: float | None = None,
        on_poll: Callable[[dict], None] | None = None,
    ) -> dict:
        """Poll until the operation finishes; return it when COMPLETED, raise otherwise."""
        poll = settings.SHOPIFY_BULK_POLL_SECONDS if poll_seconds is None else poll_seconds
        timeout = settings.SHOPIFY_BULK_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
        deadline = time.monotonic() + timeout
        while True:
            operation = self.bulk_operation(operation_id)
            if on_poll:
                on_poll(operation)
            status = operation.get("status")
            if status == "COMPLETED":
                return operation
            if status in BULK_FINISHED:
                raise BulkOperationFailed(
                    f"Bulk operation {operation_id} ended {status}"
                    + (f" ({operation['errorCode']})" if operation.get("errorCode") else "")
                    + ".",
                    code=operation.get("errorCode") or status,
                )
            if time.monotonic() > deadline:
                raise BulkOperationFailed(f"Bulk operation {operation_id} still {status} after {timeout:.0f}s.")
            self.sleep(poll)

    def iter_jsonl(self, url: str) -> Iterator[dict]:
        """Stream a bulk result file line by line (never the whole file in memory).

        The URL is a signed download link: it is fetched without the Admin API token.
        """
        attempt = 0
        while True:
            try:
                response = requests.get(url, stream=True, timeout=TIMEOUT)
                if response.status_code >= 500:
                    response.close()
                    raise ShopifyTransientError(f"HTTP {response.status_code}", http_status=response.status_code)
                break
            except (requests.ConnectionError, requests.Timeout, ShopifyTransientError) as exc:
                # requests' exception text repeats the signed link (a credential until it
                # expires): only the kind of failure is kept.
                reason = str(exc) if isinstance(exc, ShopifyTransientError) else type(exc).__name__
                attempt += 1
                if attempt > MAX_TRANSIENT_RETRIES:
                    raise ShopifyTransientError(f"Could not download the bulk result: {reason}") from None
                self._backoff(attempt, f"bulk download: {reason}")
        with response:
            if response.status_code >= 400:
                raise BulkOperationFailed(
                    f"The bulk result file answered HTTP {response.status_code} (expired link?).",
                    http_status=response.status_code,
                )
            for line in response.iter_lines(chunk_size=64 * 1024):
                if line.strip():
                    # orjson: 2.3x the standard parser on these lines, ~5% of an import's CPU.
                    # Its JSONDecodeError is json's, so a broken line fails as before.
                    yield orjson.loads(line)

    # -- webhook subscriptions -----------------------------------------------------------

    @property
    def _uses_uri(self) -> bool:
        # 2025-10 unified the address as `uri`; older versions only know callbackUrl.
        return self.api_version >= "2025-10"

    def webhook_subscriptions(self) -> list[dict]:
        """Existing subscriptions as ``{"id", "topic", "address"}``."""
        address = "uri" if self._uses_uri else "endpoint { ... on WebhookHttpEndpoint { callbackUrl } }"
        query = queries.fill(queries.WEBHOOK_SUBSCRIPTIONS, ADDRESS=address)
        return [
            {"id": node["id"], "topic": node["topic"], "address": _subscription_address(node)}
            for connection in self._pages(query, {"first": SUBSCRIPTIONS_PAGE}, "webhookSubscriptions")
            for node in _nodes(connection)
        ]

    def create_webhook_subscription(self, topic: str, address: str) -> dict:
        """``webhookSubscriptionCreate`` for one topic (GraphQL enum, e.g. PRODUCTS_UPDATE)."""
        address_field = "uri" if self._uses_uri else "endpoint { ... on WebhookHttpEndpoint { callbackUrl } }"
        subscription = {"format": "JSON", ("uri" if self._uses_uri else "callbackUrl"): address}
        data = self.execute(
            queries.fill(queries.WEBHOOK_SUBSCRIPTION_CREATE, ADDRESS=address_field),
            {"topic": topic, "webhookSubscription": subscription},
        )["webhookSubscriptionCreate"]
        errors = data.get("userErrors") or []
        if errors:
            raise ShopifyUserError(
                f"webhookSubscriptionCreate {topic} refused: " + "; ".join(str(e.get("message")) for e in errors),
                user_errors=errors,
            )
        node = data["webhookSubscription"]
        return {"id": node["id"], "topic": node["topic"], "address": _subscription_address(node)}


def _nodes(connection: dict) -> Iterator[dict]:
    """Nodes of a connection in either the ``nodes`` or the ``edges { node }`` form."""
    if connection.get("nodes") is not None:
        yield from connection["nodes"]
    else:
        for edge in connection.get("edges") or []:
            yield edge["node"]


def _subscription_address(node: dict) -> str:
    return node.get("uri") or ((node.get("endpoint") or {}).get("callbackUrl")) or node.get("callbackUrl") or ""


def _error_text(errors: list) -> str:
    messages = [str((e or {}).get("message") or e) for e in errors]
    return "; ".join(messages)[:1000] or "Shopify GraphQL error"
