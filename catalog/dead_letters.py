"""Dead letters: work that failed for good and waits for a person, and how each kind is retried.

Four kinds, listed together on the admin's "Dead letters" page:

* **Failed tasks** — Django-Q2's ``Failure`` rows (a task that raised or timed out). The
  task queue belongs to no tenant: superusers only. Retried as Django-Q2's own
  ``resubmit_task`` admin action does it: the same function, arguments and group queued
  again, the failure row removed.
* **Poison webhooks** — ``WebhookEvent`` rows in FAILED (a handler raised, or Shopify kept
  refusing). Retried by :func:`catalog.shopify.webhooks.reprocess`, which puts them back
  in their store's drain.
* **Failed batches** — Batch API calls and feed uploads that ended FAILED or TIMED_OUT in
  the last :data:`FAILED_BATCH_DAYS` days and whose work has not got through since: no
  batch of the same shard has FINISHED after them, and the shard still holds PENDING
  variants. (A failed batch's variants are released back to PENDING, so the batch no
  longer names them; its shard is what it covered.) Retried by queueing the catalog's push.

Retrying only queues work (``galantis.queue.enqueue``); Meta and Shopify are never called
here. Nothing shown keeps a secret: task arguments are summarised (ids and short names
only) and every error text goes through :func:`galantis.logredact.redact`.

* **Dead Conversions API events** — ``conversions.ConversionEvent`` rows in DEAD (Meta
  refused them, or they failed too often or waited too long). Listed and retried by
  :mod:`conversions.send` (``dead_events``, ``retry_dead``: back in the queue with fresh
  attempts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, ExpressionWrapper, F, IntegerField, OuterRef, QuerySet
from django.utils import timezone
from django_q.models import Failure

from catalog.models import Catalog, SyncBatch, Variant, WebhookEvent
from catalog.shopify import webhooks
from catalog.sync.push_requests import request_push
from galantis.logredact import redact
from galantis.queue import enqueue

# Issue 15: failed batches older than this are history, not dead letters (the sync retried
# their variants meanwhile, or the failure needs a look at the catalog, not at a batch).
FAILED_BATCH_DAYS = 7
# An argument shown as it is: a number, or a short name such as a batch kind (letters and
# "_.:-", no digit: tokens and keys carry digits). Anything else (other strings, dicts,
# objects) is shown as its type and length only.
_SHOWN_ARGUMENT = re.compile(r"^[A-Za-z][A-Za-z_.:-]{0,39}$")


# -- failed Django-Q2 tasks -----------------------------------------------------------------------


def failed_tasks() -> QuerySet[Failure]:
    """Django-Q2's failed tasks, newest first (the task queue's, not a tenant's)."""
    return Failure.objects.order_by("-stopped")


def summarise_value(value: object) -> str:
    """One task argument as it may be shown: numbers and short names as they are, others by type."""
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        if _SHOWN_ARGUMENT.match(value) and redact(value) == value:
            return repr(value)
        return f"<str, {len(value)} characters>"
    try:
        size = f", {len(value)} items"  # type: ignore[arg-type]
    except TypeError:
        size = ""
    return f"<{type(value).__name__}{size}>"


def summarise_arguments(args: tuple | list | None, kwargs: dict | None) -> str:
    """``(12, 'replace_feed', force=True)``: a task's arguments without anything that may be a secret."""
    shown = [summarise_value(a) for a in args or ()]
    shown += [f"{name}={summarise_value(v)}" for name, v in sorted((kwargs or {}).items(), key=lambda kv: str(kv[0]))]
    return f"({', '.join(shown)})"


def task_error(failure: Failure) -> str:
    """The failure's exception text (Django-Q2 stores "message : traceback"), secrets redacted."""
    return redact(str(failure.result or ""))


def retry_task(task_id: str) -> bool:
    """Queue the failed task again (same function, arguments, group and hook); drop its failure row.

    The DELETE is the claim: of two people retrying one failure at once, the one whose
    DELETE removed the row queues the task; the other queues nothing. False: already gone.
    """
    with transaction.atomic():
        failure = Failure.objects.filter(pk=task_id).first()
        if failure is None or not Failure.objects.filter(pk=task_id).delete()[0]:
            return False
        options = {key: value for key, value in (("group", failure.group), ("hook", failure.hook)) if value}
        # q_options carries Django-Q2's options, so every kwarg of the task stays the task's.
        enqueue(failure.func, *(failure.args or ()), q_options=options, **(failure.kwargs or {}))
    return True


# -- poison webhooks -----------------------------------------------------------------------------


def poison_webhooks(events: QuerySet[WebhookEvent]) -> QuerySet[WebhookEvent]:
    """The FAILED events among ``events`` (already scoped to the user), newest first, bodies left out."""
    return events.filter(state=WebhookEvent.State.FAILED).defer("body", "headers").order_by("-received_at", "-pk")


def webhook_error(event: WebhookEvent) -> str:
    """Why processing failed, secrets redacted."""
    return redact(event.error or "")


def retry_webhooks(events: QuerySet[WebhookEvent]) -> int:
    """Put the still-FAILED events among ``events`` back in their stores' drains; return how many."""
    return webhooks.reprocess(events.filter(state=WebhookEvent.State.FAILED))


# -- failed batches ------------------------------------------------------------------------------


def failed_batches(batches: QuerySet[SyncBatch], *, now=None) -> QuerySet[SyncBatch]:
    """Batches among ``batches`` that failed or timed out recently and whose shard is still behind.

    Recently: finished in the last :data:`FAILED_BATCH_DAYS` days. Still behind: no batch
    of the same catalog and shard has FINISHED since (a higher id: batches of one shard
    never overlap), and the shard holds PENDING variants that no batch carries.
    """
    now = now or timezone.now()
    finished_since = SyncBatch.objects.filter(
        catalog=OuterRef("catalog"), shard=OuterRef("shard"), state=SyncBatch.State.FINISHED, pk__gt=OuterRef("pk")
    )
    pending_in_shard = (
        Variant.objects.filter(tenant=OuterRef("tenant"), catalog=OuterRef("catalog"))
        .pending()
        .alias(_shard=F("shard_key") % ExpressionWrapper(OuterRef("catalog__shard_count"), IntegerField()))
        .filter(_shard=OuterRef("shard"))
    )
    return (
        batches.filter(
            state__in=(SyncBatch.State.FAILED, SyncBatch.State.TIMED_OUT),
            finished_at__gte=now - timedelta(days=FAILED_BATCH_DAYS),
        )
        .filter(~Exists(finished_since), Exists(pending_in_shard))
        .order_by("-finished_at", "-pk")
    )


def batch_error(batch: SyncBatch) -> str:
    """Why the batch ended (our message or Meta's), secrets redacted."""
    return redact(batch.error_message or batch.handle_status or "")


@dataclass
class Retried:
    catalogs: list[Catalog]
    skipped_read_only: int = 0


def retry_batches(batches: QuerySet[SyncBatch]) -> Retried:
    """Queue one push per catalog of ``batches`` (``catalog.tasks.push_catalog``); linked catalogs are never written."""
    ids = sorted(set(batches.values_list("catalog_id", flat=True)))
    catalogs = list(Catalog.objects.filter(pk__in=ids).order_by("pk"))
    writable = [c for c in catalogs if not c.is_read_only]
    for catalog in writable:
        request_push(catalog.pk, now=True)
    return Retried(catalogs=writable, skipped_read_only=len(catalogs) - len(writable))
