"""Push on change, the task side: wait for the window, take the request, push; follow the handles.

:mod:`catalog.sync.push_requests` records a request and queues one task; the task
(:func:`run_requested_push`) waits for the window, then takes the request with a
compare-and-swap on ``last_push_at`` (a second task for the same request finds it taken
and stops) and pushes. The window adapts to Meta's budget (:mod:`catalog.sync.budget`):
at least ``SYNC_PUSH_COALESCE_SECONDS`` after the oldest change, and as far after the
previous push as the calls left this hour allow. When the budget is tight, only volatile
fields go by the Batch API (:mod:`catalog.sync.volatile`) and an update feed carries the
rest; a backlog the calls left cannot carry goes by the update feed too.

A push that sent something queues one follower (:func:`follow_confirmations`) that polls
the catalog's handles until Meta answers.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Catalog, PushRequest, SyncBatch, Variant

from . import budget as budgets
from . import claim, confirm, push, volatile
from .lifecycle import poll_delay
from .push_requests import request_confirmations, request_push

# Status polls while following a handle: soon after the send, then further apart.
FIRST_POLL_WAIT, MAX_POLL_WAIT = 0.5, 5.0


# -- the task ---------------------------------------------------------------------------------


def not_before(request: PushRequest, budget: budgets.Budget) -> datetime:
    """When the requested push may go: after the window, and far enough after the last push."""
    waited = (request.pending_since or timezone.now()) + timedelta(seconds=settings.SYNC_PUSH_COALESCE_SECONDS)
    if request.last_push_at is None or not request.last_push_calls:
        return waited
    spaced = request.last_push_at + timedelta(seconds=budget.spacing * request.last_push_calls)
    return max(waited, spaced)


def take(catalog: Catalog) -> PushRequest | None:
    """Take the catalog's standing request for this push; None when another worker took it."""
    request = PushRequest.objects.filter(catalog=catalog).first()
    if request is None:
        return None
    stamp = timezone.now()
    same = Q(last_push_at=request.last_push_at) if request.last_push_at else Q(last_push_at__isnull=True)
    taken = PushRequest.objects.filter(same, pk=request.pk).update(
        pending_since=None, queued_at=None, last_push_at=stamp, last_push_calls=0
    )
    if not taken:
        return None
    request.last_push_at = stamp
    return request


def run_requested_push(catalog: Catalog, *, sleep=time.sleep) -> dict:
    """The coalesced push of one catalog: wait for the window, take the request, push.

    A wait longer than ``SYNC_PUSH_MAX_WAIT`` (a tight budget) is not slept: the request
    stays standing and the minute schedule asks again.
    """
    request = PushRequest.objects.filter(catalog=catalog).first()
    if request is None:
        return {"catalog": catalog.pk, "skipped": "no request"}
    if catalog.effective_delta_method != Catalog.DeltaMethod.BATCH_API:
        PushRequest.objects.filter(pk=request.pk).update(pending_since=None, queued_at=None)
        return {"catalog": catalog.pk, "skipped": "changes travel by feed"}
    budget = budgets.for_catalog(catalog)
    wait = (not_before(request, budget) - timezone.now()).total_seconds()
    if wait > settings.SYNC_PUSH_MAX_WAIT:
        PushRequest.objects.filter(pk=request.pk).update(queued_at=None)
        return {"catalog": catalog.pk, "skipped": f"budget: next push in {wait:.0f} s", "budget": budget.as_dict()}
    if wait > 0:
        sleep(wait)
    return push_taken(catalog, budget=budgets.for_catalog(catalog))


def push_now(catalog: Catalog) -> dict:
    """An operator's push (or a task queued by older code): at once, whatever the window."""
    return push_taken(catalog, budget=None)


def push_taken(catalog: Catalog, *, budget: budgets.Budget | None) -> dict:
    """Take the standing request and push; ``budget`` None: a full push whatever is left."""
    request = take(catalog)
    if request is None and budget is not None:
        return {"catalog": catalog.pk, "skipped": "taken by another worker"}
    since = request.pending_since if request else None
    tight = bool(budget and budget.tight)
    feed_shards = backlog_beyond_budget(catalog, budget) if budget and not tight else set()
    batch_shards = set(claim.shards(catalog)) - feed_shards if feed_shards else None
    report = push.push_catalog(catalog, volatile=tight, only_shards=batch_shards)
    calls = SyncBatch.objects.filter(pk__in=report.batches, kind=SyncBatch.Kind.ITEMS_BATCH)
    calls.filter(changed_at__isnull=True).update(changed_at=since or timezone.now())
    sent = calls.filter(sent_at__isnull=False).count()
    if request is not None:
        PushRequest.objects.filter(pk=request.pk).update(last_push_calls=sent)
    if (tight and not sent) or feed_shards:
        # What the Batch API does not carry now goes by an update feed (no Batch API call);
        # after a volatile call, its confirmation queues the feed (the shard is busy until then).
        volatile.request_feed(catalog.pk)
    elif since is not None and still_waiting(catalog):
        keep_standing(request, since, again=len(report.batches) >= settings.SYNC_MAX_BATCHES_PER_RUN)
    if sent or SyncBatch.objects.filter(pk__in=report.batches, sent_at__isnull=False).exists():
        request_confirmations(catalog.pk)  # a call or an upload (new items go by feed) awaits Meta
    result = report.as_dict()
    result.update(calls=sent, tight=tight, feed_shards=sorted(feed_shards), budget=budget.as_dict() if budget else None)
    return result


def backlog_beyond_budget(catalog: Catalog, budget: budgets.Budget) -> set[int]:
    """Shards whose pending items need more calls than are left this hour: an update feed carries them.

    Counted only up to what the calls left could carry (and never past the replace-feed
    threshold): a count that stops early costs little whatever the backlog.
    """
    size = claim.batch_size_for(catalog)
    shards = claim.shards(catalog)
    per_shard = budget.remaining // max(len(shards), 1)
    limit = per_shard * size
    if limit >= settings.SYNC_FEED_PREFERRED_ABOVE:
        return set()  # a backlog this big is the replace feed's (catalog.sync.schedule)
    pending = claim.catalog_variants(catalog).pending()
    return {shard for shard in shards if pending.in_shard(shard, catalog.shard_count)[: limit + 1].count() > limit}


def still_waiting(catalog: Catalog) -> bool:
    """PENDING changes no batch carries: their shard was busy, the run's batch cap was reached,
    or they changed again while their batch was in flight.

    Not the items a feed upload carries (new to Meta, or deleted by the method that created
    them: :func:`claim.waits_for_feed`): no Batch API call ever takes them, so they must not
    keep the request standing with their old change time, which would be stamped on every
    later call as its oldest change (the freshness the health page shows) and would skip the
    coalescing window. The minute schedule and the next push start their upload.
    """
    return (
        claim.catalog_variants(catalog)
        .filter(
            Q(in_flight_batch__isnull=True) | ~Q(payload_hash=F("in_flight_hash")),
            meta_status=Variant.SyncStatus.PENDING,
        )
        .exclude(claim.waits_for_feed(catalog))
        .exists()
    )


def keep_standing(request: PushRequest, since: datetime, *, again: bool) -> None:
    """Put the request back with its oldest change; ``again``: queue the next push now."""
    PushRequest.objects.filter(pk=request.pk).filter(Q(pending_since__isnull=True) | Q(pending_since__gt=since)).update(
        pending_since=since
    )
    if again:
        request_push(request.catalog_id)


# -- following a push's handles to Meta's verdict ----------------------------------------------


def follow_confirmations(catalog: Catalog, *, sleep=time.sleep) -> int:
    """Poll the catalog's sent batches as they fall due for up to ``SYNC_CONFIRM_FOLLOW_SECONDS``; return polls.

    Without it a handle waits for the minute schedule's poll. Each handle is looked at half a
    second after its send, then further apart (:func:`next_look`), or later when
    ``SYNC_POLL_DELAYS`` says so. The back-off is the handle's own: a call sent while the
    follower has been polling older ones for a while is still looked at half a second after
    it left, so a shard waiting for it is freed as soon as Meta answers.
    """
    deadline = time.monotonic() + settings.SYNC_CONFIRM_FOLLOW_SECONDS
    sent = SyncBatch.objects.filter(catalog=catalog, state=SyncBatch.State.SENT, next_poll_at__isnull=False)
    polls = 0
    while True:
        due = min((next_look(*row) for row in sent.values_list("next_poll_at", "sent_at", "poll_count")), default=None)
        if due is not None:
            pause = max((due - timezone.now()).total_seconds(), 0.0)
            if time.monotonic() + pause <= deadline:
                sleep(pause)
                confirm.confirm_catalog(catalog)
                polls += 1
                continue
        # Stop following. A push that sent meanwhile found this task queued and queued none:
        # look once more after letting go.
        PushRequest.objects.filter(catalog=catalog).update(confirm_queued_at=None)
        if due is None and sent.exists():
            continue
        return polls


def next_look(next_poll_at: datetime, sent_at: datetime | None, poll_count: int) -> datetime:
    """When the follower looks at a handle again: when it falls due, and never sooner than its back-off.

    The back-off is the handle's own, counted from its last look (its send, before the first):
    0.5 s, then 1, 2, 4 s, then every 5 s (``FIRST_POLL_WAIT`` doubling up to
    ``MAX_POLL_WAIT``), so a sandbox or a setting that makes every handle due at once does not
    turn the follower into a busy loop. The last look is where :func:`lifecycle.reschedule`
    put ``next_poll_at``, one ``poll_delay`` before it.
    """
    if sent_at is None:
        return next_poll_at
    if poll_count:
        last_look = next_poll_at - poll_delay(poll_count)
        back_off = min(FIRST_POLL_WAIT * 2**poll_count, MAX_POLL_WAIT)
    else:
        last_look, back_off = sent_at, FIRST_POLL_WAIT
    return max(next_poll_at, last_look + timedelta(seconds=back_off))
