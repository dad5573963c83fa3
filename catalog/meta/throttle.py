"""Slow down before Meta blocks us, and stop while it does.

Meta reports how much of each quota we used in response headers:

* ``X-App-Usage: {"call_count":28,"total_time":25,"total_cputime":25}`` (percent, app-wide);
* ``X-Business-Use-Case-Usage: {"<id>":[{"type":"catalog_batch","call_count":95,
  "total_cputime":20,"total_time":20,"estimated_time_to_regain_access":0}]}``
  (percent per business/catalog and use case; the regain time is in **minutes**).

The highest percentage per bucket is kept in a :class:`ThrottleStore` so every worker on
every machine sees the same picture: the project passes in one backed by its database
(``catalog.graph_clients``, ``GraphThrottle`` rows) at start-up; this package knows no
models, and without one the state is kept in memory. Before a call the client asks
:meth:`Throttle.before_request`: below ``META_THROTTLE_SLOW_PCT`` it goes at once,
between that and ``META_THROTTLE_STOP_PCT`` it sleeps proportionally longer, and at
the stop line or while a bucket is blocked (a rate-limit error or a regain time) the
call is not made: it waits briefly or raises :class:`RateLimited` with ``retry_after``.

Buckets: the catalog batch quota (``items_batch`` and friends, error 80014) and the
catalog management quota (everything else, 80009) are separate, so polling batch
status keeps working while pushes wait.

One budget per catalog and business: every call for a catalog (items, feeds, product
sets, Conversions API events, deletions) goes through a client keyed on the catalog that
also shares its business's key. Usage it reads is recorded under both, and a call waits
when either is near its limit, so work on one catalog and the business's own calls (flows,
catalog lists) never spend the same quota twice as if it were two.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from .errors import (
    APP_RATE_LIMIT_CODES,
    CATALOG_BATCH_RATE_LIMIT,
    CATALOG_MANAGEMENT_RATE_LIMIT,
    RateLimited,
)

logger = logging.getLogger(__name__)

BATCH = "batch"
MANAGEMENT = "management"
APP_KEY = "app"
# Edges counted against the Catalog Batch quota (docs/graph-api.md §2, "Catalog BUC formulas").
BATCH_EDGES = ("items_batch", "batch", "localized_items_batch")
# A usage reading older than this says nothing about the rolling one-hour window now.
USAGE_TTL = timedelta(minutes=10)


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def category_for(method: str, path: str) -> str:
    """Which BUC bucket a call counts against."""
    edge = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return BATCH if method.upper() == "POST" and edge in BATCH_EDGES else MANAGEMENT


def _parse_json_header(value: str | None) -> object:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        logger.warning("Unparsable Graph usage header: %.200s", value)
        return None


def _pct(entry: Mapping) -> float:
    values = [entry.get(k) for k in ("call_count", "total_time", "total_cputime", "acc_id_util_pct")]
    return max((float(v) for v in values if isinstance(v, int | float)), default=0.0)


@dataclass(frozen=True)
class Usage:
    """What one response's headers say about our quotas."""

    app_pct: float | None = None
    # Bucket (BATCH / MANAGEMENT) -> highest percentage over all objects in the header.
    buc_pct: dict[str, float] | None = None
    # Bucket -> seconds until Meta lets us back in (0 when not blocked).
    regain_seconds: dict[str, float] | None = None

    @property
    def is_empty(self) -> bool:
        return self.app_pct is None and not self.buc_pct


def parse_usage(headers: Mapping[str, str]) -> Usage:
    """Decode ``X-App-Usage`` and ``X-Business-Use-Case-Usage`` (names case-insensitive)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    app = _parse_json_header(lowered.get("x-app-usage"))
    app_pct = _pct(app) if isinstance(app, dict) else None
    buc = _parse_json_header(lowered.get("x-business-use-case-usage"))
    buc_pct: dict[str, float] = {}
    regain: dict[str, float] = {}
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                if not isinstance(entry, dict):
                    continue
                bucket = BATCH if entry.get("type") == "catalog_batch" else MANAGEMENT
                buc_pct[bucket] = max(buc_pct.get(bucket, 0.0), _pct(entry))
                minutes = entry.get("estimated_time_to_regain_access") or 0
                if isinstance(minutes, int | float) and minutes > 0:
                    regain[bucket] = max(regain.get(bucket, 0.0), float(minutes) * 60)
    return Usage(app_pct=app_pct, buc_pct=buc_pct or None, regain_seconds=regain or None)


def default_wait(code: int | None) -> float:
    """Seconds to wait after a rate-limit error that carried no regain time."""
    if code in APP_RATE_LIMIT_CODES:
        return _setting("META_RATE_LIMIT_APP_WAIT", 60)
    return _setting("META_RATE_LIMIT_BUC_WAIT", 300)


@dataclass
class ThrottleRow:
    """One bucket's state: its usage, and until when Meta blocks it (if it does)."""

    key: str
    updated_at: datetime
    usage_pct: float = 0.0
    blocked_until: datetime | None = None
    block_code: int | None = None
    block_reason: str = ""


class ThrottleStore(Protocol):
    """Where bucket states live; every worker must see the same ones (the project's is its database)."""

    def read(self, keys: list[str]) -> list[ThrottleRow]: ...

    def save_usage(self, rows: list[ThrottleRow]) -> None: ...

    def save_blocks(self, rows: list[ThrottleRow]) -> None: ...

    def clear(self, prefix: str) -> None: ...


class MemoryThrottleStore:
    """This process's buckets only: for scripts and tests that pass no store."""

    def __init__(self) -> None:
        self.rows: dict[str, ThrottleRow] = {}

    def read(self, keys: list[str]) -> list[ThrottleRow]:
        return [self.rows[k] for k in keys if k in self.rows]

    def save_usage(self, rows: list[ThrottleRow]) -> None:
        for row in rows:
            kept = self.rows.setdefault(row.key, ThrottleRow(row.key, row.updated_at))
            kept.usage_pct, kept.updated_at = row.usage_pct, row.updated_at

    def save_blocks(self, rows: list[ThrottleRow]) -> None:
        for row in rows:
            kept = self.rows.setdefault(row.key, ThrottleRow(row.key, row.updated_at))
            kept.blocked_until, kept.block_code, kept.block_reason = row.blocked_until, row.block_code, row.block_reason
            kept.updated_at = row.updated_at

    def clear(self, prefix: str) -> None:
        for key in [k for k in self.rows if k.startswith(prefix)]:
            del self.rows[key]


_default_store: ThrottleStore = MemoryThrottleStore()


def use_store(store: ThrottleStore) -> None:
    """Keep every throttle's state in ``store`` from now on (the project passes its database's in)."""
    global _default_store
    _default_store = store


def default_store() -> ThrottleStore:
    return _default_store


class Throttle:
    """The shared usage / back-off state of one client (one catalog or business).

    ``shared``: keys of the wider budgets this one spends too (a catalog's business).
    """

    def __init__(self, key: str, shared: tuple[str, ...] = (), store: ThrottleStore | None = None) -> None:
        self.key = key
        self.shared = tuple(k for k in shared if k and k != key)
        self.store = store or default_store()

    def bucket_key(self, bucket: str, key: str | None = None) -> str:
        return f"{key or self.key}:{bucket}"

    def bucket_keys(self, bucket: str) -> list[str]:
        """This client's row for ``bucket`` and the shared budgets' rows."""
        return [self.bucket_key(bucket, key) for key in (self.key, *self.shared)]

    # -- before a call --------------------------------------------------------------

    def delay_for(self, bucket: str) -> tuple[float, ThrottleRow | None]:
        """Seconds to wait before a call in ``bucket`` and the row that blocks it (if any)."""
        now = timezone.now()
        rows = self.store.read([*self.bucket_keys(bucket), APP_KEY])
        slow, stop = _setting("META_THROTTLE_SLOW_PCT", 75), _setting("META_THROTTLE_STOP_PCT", 95)
        max_delay = _setting("META_THROTTLE_MAX_DELAY", 10)
        delay, blocker = 0.0, None
        for row in rows:
            if row.blocked_until and row.blocked_until > now:
                wait = (row.blocked_until - now).total_seconds()
                if wait > delay:
                    delay, blocker = wait, row
                continue
            if now - row.updated_at > USAGE_TTL or row.usage_pct < slow:
                continue
            if row.usage_pct >= stop:
                # At the edge: one more call likely gets us blocked for an hour.
                wait = max(_setting("META_THROTTLE_COOLDOWN", 60) - (now - row.updated_at).total_seconds(), 0)
                if wait > delay:
                    delay, blocker = wait, row
            else:
                delay = max(delay, max_delay * (row.usage_pct - slow) / max(stop - slow, 1))
        return delay, blocker

    def before_request(self, bucket: str) -> None:
        """Sleep a little when close to the limit; raise RateLimited when we must wait long."""
        delay, blocker = self.delay_for(bucket)
        if delay <= 0:
            return
        if delay > _setting("META_MAX_INLINE_WAIT", 30):
            code = blocker.block_code if blocker else None
            reason = (blocker.block_reason if blocker else "") or "Graph API quota nearly used up"
            raise RateLimited(
                f"Waiting for Meta's rate limit: {reason}", code=code, retry_after=delay, is_transient=True
            )
        logger.info("Graph throttle %s:%s sleeping %.1fs", self.key, bucket, delay)
        time.sleep(delay)

    # -- after a call -----------------------------------------------------------------

    def record_usage(self, usage: Usage) -> None:
        """Persist the percentages a response reported (and any regain time it announced)."""
        if usage.is_empty:
            return
        now = timezone.now()
        rows = []
        if usage.app_pct is not None:
            rows.append(ThrottleRow(key=APP_KEY, usage_pct=usage.app_pct, updated_at=now))
        for bucket, pct in (usage.buc_pct or {}).items():
            rows += [ThrottleRow(key=key, usage_pct=pct, updated_at=now) for key in self.bucket_keys(bucket)]
        self.store.save_usage(rows)
        for bucket, seconds in (usage.regain_seconds or {}).items():
            self.block(bucket, seconds, code=None, reason="Meta announced a wait before more calls")

    def block(self, bucket: str, seconds: float, *, code: int | None, reason: str, shared: bool = False) -> None:
        """Stop every worker from calling ``bucket`` for ``seconds`` (with ``shared``, the wider budgets too)."""
        now = timezone.now()
        keys = [APP_KEY] if bucket == APP_KEY else self.bucket_keys(bucket) if shared else [self.bucket_key(bucket)]
        self.store.save_blocks(
            [
                ThrottleRow(
                    key=key,
                    blocked_until=now + timedelta(seconds=seconds),
                    block_code=code,
                    block_reason=reason[:500],
                    updated_at=now,
                )
                for key in keys
            ]
        )

    def record_rate_limit(self, error: RateLimited, bucket: str) -> None:
        """Persist the block a rate-limit error implies, in the bucket Meta counts it against."""
        if error.retry_after <= 0:
            error.retry_after = default_wait(error.code)
        reason = f"#{error.code} {error.message}" if error.code else error.message
        if error.code in (4, 341):
            self.block(APP_KEY, error.retry_after, code=error.code, reason=reason)
        elif error.code == CATALOG_BATCH_RATE_LIMIT:
            self.block(BATCH, error.retry_after, code=error.code, reason=reason)
        elif error.code == CATALOG_MANAGEMENT_RATE_LIMIT:
            self.block(MANAGEMENT, error.retry_after, code=error.code, reason=reason)
        else:
            # User / page / custom limits (17, 32, 613, 80004, HTTP 429): everything this token
            # does, for this catalog and its business alike.
            self.block(BATCH, error.retry_after, code=error.code, reason=reason, shared=True)
            self.block(MANAGEMENT, error.retry_after, code=error.code, reason=reason, shared=True)

    def clear(self) -> None:
        """Forget this key's state (e.g. after the operator replaced the token)."""
        self.store.clear(f"{self.key}:")
