"""Nothing silently stuck: re-find claims whose worker died and handles Meta never finished."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog import item_state
from catalog.models import SyncBatch, Variant

from . import sharding
from .claim import mark_due_deletions, release
from .lifecycle import give_up_if_timed_out
from .schedule import writable_catalogs

logger = logging.getLogger(__name__)


def release_dead_claims(now=None) -> int:
    """Release CLAIMED batches whose worker stopped heart-beating (killed mid-batch).

    Its items are re-pushed once by the next run: if the dead worker had already sent
    them, Meta receives the same upserts again, which changes nothing.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SYNC_CLAIM_TIMEOUT)
    dead = SyncBatch.objects.filter(state=SyncBatch.State.CLAIMED).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    count = 0
    for batch in dead.iterator():
        release(
            batch,
            state=SyncBatch.State.FAILED,
            message=gettext_noop(
                "The worker building this batch stopped before Meta answered; its items were re-queued."
            ),
        )
        count += 1
    return count


def time_out_handles() -> int:
    """Give up on handles / uploads Meta has not finished in time (their items go back to PENDING)."""
    count = 0
    for batch in SyncBatch.objects.filter(state=SyncBatch.State.SENT).iterator():
        if give_up_if_timed_out(batch):  # a feed's shard is due again too
            count += 1
    return count


def release_orphans() -> int:
    """Variants still pointing at a batch that is no longer in flight (should never happen)."""
    return (
        Variant.objects.filter(in_flight_batch__isnull=False)
        .exclude(in_flight_batch__state__in=SyncBatch.IN_FLIGHT_STATES)
        .update(
            in_flight_batch=None,
            in_flight_hash="",
            in_flight_method="",
            # Its batch may have reached Meta: what Meta may hold grows (item_state.release_batch).
            held_mask=item_state.HELD_OR_SENT,
            updated_at=timezone.now(),
        )
    )


def sweep() -> dict[str, int]:
    """One sweeper pass over every catalog; returns what it fixed."""
    result = {
        "dead_claims": release_dead_claims(),
        "timed_out": time_out_handles(),
        "orphans": release_orphans(),
        "deletions_due": sum(mark_due_deletions(c) for c in writable_catalogs().iterator()),
        "reshards": sum(sharding.maintain(c) for c in writable_catalogs().iterator()),
    }
    if any(result.values()):
        logger.warning("Sync sweeper: %s", result)
    return result
