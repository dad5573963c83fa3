"""What every write to Meta shares: the Batch API push, feed uploads and product-set calls.

Whether a write may start now (:func:`write_refusal`: a blocker, a pause, the token),
local validation at the moment an item is sent (:class:`SendGate`), recording what was
really sent (:func:`record_sent_hashes`), and the token's last four for a pause's reason.
"""

from __future__ import annotations

import logging

from django.db.models import BigIntegerField, Case, F, Value, When

from catalog import item_state, items
from catalog.connection.token_health import check_token_before_sync
from catalog.models import Catalog, MetaConnection, SyncBatch, Variant

from . import pause
from .claim import SKIP
from .item_rows import VariantRow, held_by_meta

logger = logging.getLogger(__name__)

REHASH_CHUNK = 500


def write_blocker(catalog: Catalog) -> str:
    """Why nothing may be written to this catalog now ("" when it may)."""
    if catalog.is_read_only:
        return "read-only catalog (linked, never written)"
    if not catalog.sync_enabled:
        return "sync disabled"
    if not catalog.meta_catalog_id:
        return "no Meta catalog id yet"
    if catalog.connection_id is None:
        return "no Meta connection"
    return ""


def token_allows_writes(catalog: Catalog) -> bool:
    """The cheap token check before each push and feed upload; False when the catalog is now paused.

    ``debug_token`` at most once per ``META_TOKEN_RECHECK_SECONDS`` per connection, so an
    expired or revoked token pauses the catalog (with its reason) before a write fails
    on it. A token revoked between this check and the write is caught by the write's own
    error, which pauses the same way.
    """
    if catalog.connection is None:
        return True
    if check_token_before_sync(catalog.connection) not in MetaConnection.BLOCKING_STATUSES:
        return True
    catalog.refresh_from_db(fields=["pause_kind", "paused_reason", "paused_at", "paused_until"])
    return False


def write_refusal(catalog: Catalog) -> str:
    """Why a run that writes to Meta may not start on this catalog now ("" when it may).

    A blocker (read-only, sync off, not connected) or a pause. Checking lifts a pause whose
    cause is gone and may pause the catalog on its token, so call it once, at the start.
    """
    if blocker := write_blocker(catalog):
        return blocker
    if not pause.resume_if_cause_gone(catalog) or not token_allows_writes(catalog):
        return f"paused: {catalog.paused_reason}"
    return ""


class SendGate:
    """Local validation at the moment an item is sent: nothing locally invalid leaves as a live item.

    Every item built for a request or a feed row goes through :meth:`check`; the invalid
    ones are recorded and written FAILED (local) by :meth:`commit`, with how they travel:
    hidden when Meta shows an older version (Batch API), else not sent at all.
    """

    def __init__(self, batch: SyncBatch) -> None:
        self.batch = batch
        self.failures: dict[int, tuple[list[items.Problem], str]] = {}

    def check(self, row: VariantRow, item: dict, canonical: bytes, *, held_method: str) -> bool:
        """True when ``item`` may be sent; otherwise remember why and how it travels instead."""
        problems = items.local_problems(item, canonical)
        if not problems:
            return True
        self.failures[row.pk] = (problems, held_method if held_by_meta(row) else SKIP)
        return False

    def commit(self) -> int:
        if not self.failures:
            return 0
        done = item_state.fail_at_send(self.batch, self.failures)
        logger.info("Batch %s: %s item(s) failed local validation at send time", self.batch.pk, done)
        self.failures = {}
        return done


def record_sent_hashes(rehashed: dict[int, tuple[str | None, int]]) -> None:
    """Store the hash and clearable fields of the payload really sent (rare: data changed after the
    last refresh, or a payload refreshed before its fields were recorded). pk -> (hash, mask);
    a None hash leaves ``in_flight_hash`` as it is (a volatile call sends no full payload)."""
    rows = list(rehashed.items())
    for start in range(0, len(rows), REHASH_CHUNK):
        chunk = rows[start : start + REHASH_CHUNK]
        hashes = [When(pk=pk, then=Value(h)) for pk, (h, _) in chunk if h is not None]
        Variant.objects.filter(pk__in=[pk for pk, _ in chunk]).update(
            in_flight_mask=Case(
                *(When(pk=pk, then=Value(m)) for pk, (_, m) in chunk), default=Value(0), output_field=BigIntegerField()
            ),
            **({"in_flight_hash": Case(*hashes, default=F("in_flight_hash"))} if hashes else {}),
        )


def client_token_last4(catalog: Catalog) -> str:
    return catalog.connection.token_last4 if catalog.connection_id else ""
