"""Push on change: a change reaches Meta in seconds, coalesced, inside Meta's call budget.

Whatever makes variants PENDING (a webhook drain, an import, an admin edit, the minute
schedule as a safety net) calls :func:`request_push`. On commit it writes the catalog's
``PushRequest`` row (the oldest change waiting, the newest request) and queues one task
only when none is queued: a conditional UPDATE of ``queued_at``, so a burst of 5,000
changes from any number of workers is one task and, after the window, one
``items_batch`` call per shard.

The task side (waiting for the window, taking the request, pushing, following the
handles to Meta's verdict) is :mod:`catalog.sync.requested_push`, above the push engine;
this module is below it, so whatever changes a variant (the item-state writer included)
can ask for a push.

A change made while its shard has a batch in flight cannot go until that batch is
confirmed (a variant is never in two batches): the request stays standing and the
batch's end (:func:`after_batch`) asks again, so the change goes in the next call, and
the variant stays PENDING in between (no SYNCED-then-PENDING flapping).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, Exists, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Catalog, PushRequest, SyncBatch
from galantis.queue import enqueue

from . import sharding

logger = logging.getLogger(__name__)

PUSH_TASK = "catalog.tasks.push_catalog"  # at once (operators, older queued tasks)
REQUESTED_PUSH_TASK = "catalog.tasks.push_requested"  # after the window
CONFIRM_TASK = "catalog.tasks.follow_confirmations"


def queued_stale_after() -> timedelta:
    """A task queued longer ago than this was lost (killed worker): the next request queues another.

    Never shorter than a task may wait for its window (``SYNC_PUSH_MAX_WAIT``), so a task
    still waiting is not doubled.
    """
    return timedelta(seconds=max(settings.SYNC_PUSH_LOST_AFTER, settings.SYNC_PUSH_MAX_WAIT + 10))


def request_push(catalog_id: int | None, *, now: bool = False) -> None:
    """Ask for a push of the catalog once the current transaction commits.

    ``now``: an operator asked (push now, retry): the push runs at once, without the
    coalescing window. Otherwise requests coalesce (see the module docstring and
    :mod:`catalog.sync.requested_push`).
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


def request_confirmations(catalog_id: int) -> None:
    """Queue one task that polls the catalog's sent handles until Meta answers (not one per push)."""
    stamp = timezone.now()
    idle = Q(confirm_queued_at__isnull=True) | Q(confirm_queued_at__lt=stamp - queued_stale_after())
    if PushRequest.objects.filter(idle, catalog_id=catalog_id).update(confirm_queued_at=stamp):
        enqueue(CONFIRM_TASK, catalog_id, group=f"confirm:{catalog_id}")
