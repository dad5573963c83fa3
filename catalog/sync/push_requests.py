"""Push on change: a change reaches Meta in seconds, coalesced, inside Meta's call budget.

Whatever makes variants PENDING (a webhook drain, an import, an admin edit, the minute
schedule as a safety net) calls :func:`request_push`. On commit it writes the catalog's
``PushRequest`` row (the oldest change waiting, the newest request) and queues one task
only when none is queued: a conditional UPDATE of ``queued_at``, so a burst of 5,000
changes from any number of workers is one task and, after the window, one
``items_batch`` call per shard.

The task (:func:`run_requested_push`) waits for the window, then takes the request with
a compare-and-swap on ``last_push_at`` (a second task for the same request finds it
taken and stops) and pushes. The window adapts to Meta's budget
(:mod:`catalog.sync.budget`): at least ``SYNC_PUSH_COALESCE_SECONDS`` after the oldest
change, and as far after the previous push as the calls left this hour allow. When the
budget is tight, only volatile fields go by the Batch API (:mod:`catalog.sync.volatile`)
and an update feed carries the rest; a backlog the calls left cannot carry goes by the
update feed too.

A change made while its shard has a batch in flight cannot go until that batch is
confirmed (a variant is never in two batches): the request stays standing and the
batch's end (:func:`after_batch`) asks again, so the change goes in the next call, and
the variant stays PENDING in between (no SYNCED-then-PENDING flapping).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Catalog, PushRequest, SyncBatch, Variant
from galantis.queue import enqueue

from . import budget as budgets
from . import claim, sharding
from .lifecycle import poll_delay

logger = logging.getLogger(__name__)

PUSH_TASK = "catalog.tasks.push_catalog"  # at once (operators, older queued tasks)
REQUESTED_PUSH_TASK = "catalog.tasks.push_requested"  # after the window
CONFIRM_TASK = "catalog.tasks.follow_confirmations"
# Status polls while following a handle: soon after the send, then further apart.
FIRST_POLL_WAIT, MAX_POLL_WAIT = 0.5, 5.0


def queued_stale_after() -> timedelta:
    """A task queued longer ago than this was lost (killed worker): the next request queues another.

    Never shorter than a task may wait for its window (``SYNC_PUSH_MAX_WAIT``), so a task
    still waiting is not doubled.
    """
    return timedelta(seconds=max(settings.SYNC_PUSH_LOST_AFTER, settings.SYNC_PUSH_MAX_WAIT + 10))


def request_push(catalog_id: int | None, *, now: bool = False) -> None:
    """Ask for a push of the catalog once the current transaction commits.

    ``now``: an operator asked (push now, retry): the push runs at once, without the
    coalescing window. Otherwise requests coalesce (see the module docstring).
    """
    if catalog_id is None:
        return
    transaction.on_commit(partial(_request, catalog_id, now), robust=True)


def request_pushes(catalog_ids: Iterable[int | None]) -> None:
    """:func:`request_push` for each catalog of ``catalog_ids`` (once each)."""
    for catalog_id in {c for c in catalog_ids if c is not None}:
        request_push(catalog_id)


def _request(catalog_id: int, at_once: bool) -> None:
    stamp = timezone.now()
    rows = PushRequest.objects.filter(catalog_id=catalog_id)
    marks = {
        "requested_at": stamp,
        "pending_since": Coalesce("pending_since", Value(stamp), output_field=DateTimeField()),
    }
    if not rows.update(**marks):
        tenant_id = Catalog.objects.filter(pk=catalog_id).values_list("tenant_id", flat=True).first()
        if tenant_id is None:
            return
        created = PushRequest.objects.bulk_create(
            [PushRequest(catalog_id=catalog_id, tenant_id=tenant_id, requested_at=stamp, pending_since=stamp)],
            ignore_conflicts=True,
        )
        if not created or created[0].pk is None:
            rows.update(**marks)  # another worker created it first (or the backend returns no pk)
    if at_once:
        enqueue(PUSH_TASK, catalog_id, group=f"push:{catalog_id}")
        return
    idle = Q(queued_at__isnull=True) | Q(queued_at__lt=stamp - queued_stale_after())
    if rows.filter(idle).update(queued_at=stamp):
        enqueue(REQUESTED_PUSH_TASK, catalog_id, group=f"push:{catalog_id}")


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
    from .push import push_catalog  # push imports this module's neighbours at load

    request = take(catalog)
    if request is None and budget is not None:
        return {"catalog": catalog.pk, "skipped": "taken by another worker"}
    since = request.pending_since if request else None
    tight = bool(budget and budget.tight)
    feed_shards = backlog_beyond_budget(catalog, budget) if budget and not tight else set()
    batch_shards = set(claim.shards(catalog)) - feed_shards if feed_shards else None
    report = push_catalog(catalog, volatile=tight, only_shards=batch_shards)
    calls = SyncBatch.objects.filter(pk__in=report.batches, kind=SyncBatch.Kind.ITEMS_BATCH)
    calls.filter(changed_at__isnull=True).update(changed_at=since or timezone.now())
    sent = calls.filter(sent_at__isnull=False).count()
    if request is not None:
        PushRequest.objects.filter(pk=request.pk).update(last_push_calls=sent)
    if (tight and not sent) or feed_shards:
        # What the Batch API does not carry now goes by an update feed (no Batch API call);
        # after a volatile call, its confirmation queues the feed (the shard is busy until then).
        from .volatile import request_feed

        request_feed(catalog.pk)
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


def after_batch(batch: SyncBatch) -> None:
    """A batch or upload ended: a change that waited for its shard goes in the next call.

    A re-shard waiting for the catalog to drain (no job is claimed meanwhile) is applied as
    soon as its last job ends, not at the sweeper's next run minutes later: until then no
    change of the catalog could go. One query reads both.
    """
    waiting = PushRequest.objects.filter(catalog_id=OuterRef("pk"), pending_since__isnull=False)
    reshard_to, changes_wait = Catalog.objects.filter(pk=batch.catalog_id).values_list(
        "reshard_to", Exists(waiting)
    ).first() or (None, False)
    if reshard_to is not None:
        transaction.on_commit(partial(reshard_when_drained, batch.catalog_id), robust=True)
    if batch.stale_count or changes_wait:
        request_push(batch.catalog_id)


def reshard_when_drained(catalog_id: int) -> bool:
    """Apply the catalog's requested shard count if nothing is in flight any more; then push what waited."""
    catalog = Catalog.objects.filter(pk=catalog_id).first()
    if catalog is None or not sharding.reshard_if_drained(catalog):
        return False
    request_push(catalog_id)
    return True


# -- following a push's handles to Meta's verdict ----------------------------------------------


def request_confirmations(catalog_id: int) -> None:
    """Queue one task that polls the catalog's sent handles until Meta answers (not one per push)."""
    stamp = timezone.now()
    idle = Q(confirm_queued_at__isnull=True) | Q(confirm_queued_at__lt=stamp - queued_stale_after())
    if PushRequest.objects.filter(idle, catalog_id=catalog_id).update(confirm_queued_at=stamp):
        enqueue(CONFIRM_TASK, catalog_id, group=f"confirm:{catalog_id}")


def follow_confirmations(catalog: Catalog, *, sleep=time.sleep) -> int:
    """Poll the catalog's sent batches as they fall due for up to ``SYNC_CONFIRM_FOLLOW_SECONDS``; return polls.

    Without it a handle waits for the minute schedule's poll. Each handle is looked at half a
    second after its send, then further apart (:func:`next_look`), or later when
    ``SYNC_POLL_DELAYS`` says so. The back-off is the handle's own: a call sent while the
    follower has been polling older ones for a while is still looked at half a second after
    it left, so a shard waiting for it is freed as soon as Meta answers.
    """
    from .confirm import confirm_catalog

    deadline = time.monotonic() + settings.SYNC_CONFIRM_FOLLOW_SECONDS
    sent = SyncBatch.objects.filter(catalog=catalog, state=SyncBatch.State.SENT, next_poll_at__isnull=False)
    polls = 0
    while True:
        due = min((next_look(*row) for row in sent.values_list("next_poll_at", "sent_at", "poll_count")), default=None)
        if due is not None:
            pause = max((due - timezone.now()).total_seconds(), 0.0)
            if time.monotonic() + pause <= deadline:
                sleep(pause)
                confirm_catalog(catalog)
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
