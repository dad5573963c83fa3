"""A batch's life after its claim, the same for Batch API calls and feed uploads.

Sent, it is polled with back-off (``SYNC_POLL_DELAYS``) until Meta finishes it; a handle
that stays pending past its timeout is given up into a retry; and a poll that fails goes
down one ladder: a bad token pauses the catalog, a rate limit waits as long as Meta asks,
a handle Meta cannot report on is released (its items go again), anything else polls
again later. Leaving an in-flight state always goes through ``SyncBatch.objects.move``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from catalog.meta.errors import AuthError, GraphAPIError, InvalidRequest, PermissionDenied, RateLimited
from catalog.models import Catalog, CatalogFeed, SyncBatch

from . import pause
from .claim import release

logger = logging.getLogger(__name__)


def poll_delay(poll_count: int) -> timedelta:
    """How long to wait before the next look at a handle polled ``poll_count`` times."""
    delays = settings.SYNC_POLL_DELAYS or [5.0]
    return timedelta(seconds=delays[min(poll_count, len(delays) - 1)])


def timeout_for(batch: SyncBatch) -> timedelta:
    seconds = settings.SYNC_HANDLE_TIMEOUT if batch.kind == SyncBatch.Kind.ITEMS_BATCH else settings.SYNC_FEED_TIMEOUT
    return timedelta(seconds=seconds)


def give_up_if_timed_out(batch: SyncBatch) -> bool:
    """Time a handle out into a retry once it has been pending too long."""
    sent = batch.sent_at or batch.created_at
    if timezone.now() - sent <= timeout_for(batch):
        return False
    release(
        batch,
        state=SyncBatch.State.TIMED_OUT,
        message=f"Meta did not finish this {batch.get_kind_display()} within {timeout_for(batch)}; "
        "its items were re-queued.",
    )
    feed_due_again(batch)
    return True


def reschedule(batch: SyncBatch, *, handle_status: str = "", wait: float | None = None) -> None:
    """Poll again later: the configured back-off, or what Meta asked us to wait."""
    delay = timedelta(seconds=wait) if wait else poll_delay(batch.poll_count + 1)
    fields = {"poll_count": F("poll_count") + 1, "next_poll_at": timezone.now() + delay}
    if handle_status:
        fields["handle_status"] = handle_status[:32]
    SyncBatch.objects.filter(pk=batch.pk, state=SyncBatch.State.SENT).update(**fields)


def feed_due_again(batch: SyncBatch) -> None:
    """A feed upload that did not go through leaves its shard due, so the next planner run retries it."""
    if batch.kind == SyncBatch.Kind.ITEMS_BATCH or not batch.feed_id:
        return
    stamp = "last_replace_at" if batch.kind == SyncBatch.Kind.REPLACE_FEED else "last_update_at"
    CatalogFeed.objects.filter(pk=batch.feed_id).update(**{stamp: None})


def poll_failed(catalog: Catalog, batch: SyncBatch, error: GraphAPIError, token_last4: Callable[[Catalog], str]) -> str:
    """The one ladder for a failed poll of a handle or an upload; the batch's state afterwards.

    Re-raises an authorisation error after pausing the catalog (the caller stops polling it).
    """
    if isinstance(error, AuthError | PermissionDenied):
        pause.pause_for_error(catalog, error, token_last4=token_last4(catalog))
        reschedule(batch)
        raise error
    if isinstance(error, RateLimited):
        reschedule(batch, wait=error.retry_after)
    elif isinstance(error, InvalidRequest):
        # Typically "the handle does not exist": Meta forgot it. Its items go again.
        release(
            batch,
            state=SyncBatch.State.TIMED_OUT,
            message=f"Meta could not report on this {batch.get_kind_display()} ({error}); its items were re-queued.",
        )
        feed_due_again(batch)
    else:
        logger.warning("Polling batch %s failed: %s", batch.pk, error)
        reschedule(batch)
    return batch.state
