"""The admin's "Dead letters" page: work that failed for good, in one place, with retry buttons.

Served by the sync batch admin at ``dead-letters/`` and listed in the index's Sync section
(with a count badge on the index). What is listed and how it is retried lives in
:mod:`catalog.dead_letters`; this module decides who sees and retries what:

* failed Django-Q2 tasks: superusers only (the task queue belongs to no tenant);
* poison webhooks, failed batches and dead Conversions API events: the rows of the user's tenants (another tenant's
  row is never listed, and its id is a 404 here); retrying needs ``operate`` in each
  row's own tenant, checked row by row (one row not allowed refuses them all with 403
  and queues nothing).

Retry buttons POST and queue work; nothing here calls Meta or Shopify.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from catalog import dead_letters, permissions
from catalog.models import SyncBatch, WebhookEvent
from catalog.permissions import Action
from conversions import send as conversions_send
from conversions.models import ConversionEvent
from galantis.logredact import redact

from .base import admin_page, any_tenant_view, scope_for_user

# Rows listed per section (newest first); the section's count covers them all.
LISTED_ROWS = 100
# Characters of an error shown in a row before "more"; the rest folds out.
ERROR_HEAD_CHARS = 160
ERROR_MAX_CHARS = 5000

TASKS, WEBHOOKS, BATCHES, CONVERSIONS = "task", "webhook", "batch", "capi"


def _webhooks(request) -> QuerySet[WebhookEvent]:
    return dead_letters.poison_webhooks(scope_for_user(WebhookEvent.objects.all(), request))


def _batches(request) -> QuerySet[SyncBatch]:
    return dead_letters.failed_batches(scope_for_user(SyncBatch.objects.all(), request))


def _conversions(request) -> QuerySet[ConversionEvent]:
    return conversions_send.dead_events(scope_for_user(ConversionEvent.objects.all(), request))


def dead_letter_counts(request) -> dict[str, int]:
    """How many dead letters of each kind the user may see (tasks: superusers only)."""
    counts = {}
    if permissions.is_superuser(request.user):
        counts[TASKS] = dead_letters.failed_tasks().count()
    counts[WEBHOOKS] = _webhooks(request).count()
    counts[BATCHES] = _batches(request).count()
    counts[CONVERSIONS] = _conversions(request).count()
    return counts


def dead_letter_count(request) -> int:
    """The index badge: every dead letter the user may see."""
    return sum(dead_letter_counts(request).values())


def _error(text: str) -> dict[str, str]:
    """An (already redacted) error as a one-line head and the folded rest."""
    text = text.strip()
    head = text.splitlines()[0] if text else ""
    if len(head) > ERROR_HEAD_CHARS:
        head = head[:ERROR_HEAD_CHARS] + "…"
    full = text if len(text) <= ERROR_MAX_CHARS else text[:ERROR_MAX_CHARS] + "\n…"
    return {"head": head, "full": full if full != head else ""}


def _section(kind: str, title: str, counts: dict[str, int], rows: list[dict], help_text: str) -> dict:
    """One kind of dead letter as the page lists it: its title, how many there are, its first rows, what Retry does."""
    return {"kind": kind, "title": title, "count": counts[kind], "rows": rows, "help": help_text}


def _tenant_row(user, obj: Model, change_url: str, error: str, **columns: object) -> dict:
    """A tenant's dead letter as a listed row: its ``columns``, error, admin page and whether ``user`` may retry it."""
    return {
        "id": obj.pk,
        "tenant": obj.tenant,
        **columns,
        "error": _error(error),
        "url": reverse(change_url, args=[obj.pk]),
        "may_retry": permissions.can(user, Action.OPERATE, obj),
    }


class DeadLettersMixin:
    """For SyncBatchAdmin: the "Dead letters" page (GET lists, POST retries)."""

    def get_urls(self):
        return [admin_page(self, "dead-letters/", self.dead_letters_view, "deadletters")] + super().get_urls()

    @any_tenant_view(get=Action.VIEW, post=Action.OPERATE)
    def dead_letters_view(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            self._retry(request)
            return HttpResponseRedirect(reverse("admin:catalog_syncbatch_deadletters"))
        user = request.user
        counts = dead_letter_counts(request)
        sections = []
        if TASKS in counts:
            rows = [
                {
                    "id": failure.pk,
                    "name": failure.name,
                    "func": failure.func,
                    "arguments": dead_letters.summarise_arguments(failure.args, failure.kwargs),
                    "group": failure.group or "",
                    "started": failure.started,
                    "stopped": failure.stopped,
                    "attempts": failure.attempt_count,
                    "error": _error(dead_letters.task_error(failure)),
                    "may_retry": True,
                }
                for failure in dead_letters.failed_tasks()[:LISTED_ROWS]
            ]
            sections.append(
                _section(
                    TASKS,
                    "Failed tasks",
                    counts,
                    rows,
                    "Django-Q2 tasks that raised or timed out. Retry queues the same function "
                    "with the same arguments again and removes the failure.",
                )
            )
        events = (
            _webhooks(request)
            .select_related("tenant", "store")
            .only(
                "pk",
                "tenant_id",
                "store_id",
                "topic",
                "state",
                "attempts",
                "error",
                "received_at",
                "tenant__name",
                "tenant__slug",
                "store__shop_domain",
            )
        )
        rows = [
            _tenant_row(
                user,
                event,
                "admin:catalog_webhookevent_change",
                dead_letters.webhook_error(event),
                store=event.store.shop_domain,
                topic=event.topic,
                attempts=event.attempts,
                received_at=event.received_at,
            )
            for event in events[:LISTED_ROWS]
        ]
        sections.append(
            _section(
                WEBHOOKS,
                "Poison webhooks",
                counts,
                rows,
                "Shopify deliveries whose processing failed for good. Retry puts them back in their store's queue.",
            )
        )
        batches = _batches(request).select_related("tenant", "catalog").defer("errors", "stats")
        rows = [
            _tenant_row(
                user,
                batch,
                "admin:catalog_syncbatch_change",
                dead_letters.batch_error(batch),
                catalog=batch.catalog,
                kind=batch.get_kind_display(),
                state=batch.get_state_display(),
                shard=batch.shard,
                items=batch.item_count,
                finished_at=batch.finished_at,
                paused=batch.catalog.paused_reason if batch.catalog.is_paused else "",
            )
            for batch in batches[:LISTED_ROWS]
        ]
        sections.append(
            _section(
                BATCHES,
                f"Failed batches, last {dead_letters.FAILED_BATCH_DAYS} days",
                counts,
                rows,
                "Batch API calls and feed uploads that failed or timed out, whose shard has not "
                "finished a batch since and still has variants waiting. Retry queues a push of "
                "the catalog.",
            )
        )
        dead_events = _conversions(request).select_related("tenant").defer("payload")
        rows = [
            _tenant_row(
                user,
                event,
                "admin:conversions_conversionevent_change",
                redact(event.last_error),
                order=event.order_name or event.shopify_order_id,
                event=f"{event.event_name} {event.event_id}",
                attempts=event.attempts,
                updated_at=event.updated_at,
            )
            for event in dead_events[:LISTED_ROWS]
        ]
        sections.append(
            _section(
                CONVERSIONS,
                "Dead Conversions API events",
                counts,
                rows,
                "Purchase events Meta refused, or that failed too often or waited too long. Retry "
                "puts them back in the queue with fresh attempts (Meta takes events up to 7 days "
                "old).",
            )
        )
        for section in sections:
            section["retry_ids"] = [row["id"] for row in section["rows"] if row["may_retry"]]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Dead letters",
            "sections": sections,
            "total": sum(counts.values()),
            "listed_rows": LISTED_ROWS,
        }
        return TemplateResponse(request, "admin/catalog/syncbatch/dead_letters.html", context)

    def _retry(self, request: HttpRequest) -> None:
        """Queue the retry of the posted rows (``kind``, one or more ``id``), each checked first."""
        kind, ids = request.POST.get("kind", ""), request.POST.getlist("id")
        if kind not in (TASKS, WEBHOOKS, BATCHES, CONVERSIONS) or not ids:
            self.message_user(request, "Nothing to retry was chosen.", messages.ERROR)
            return
        if kind == TASKS:
            if not permissions.is_superuser(request.user):
                raise PermissionDenied("The task queue is for superusers.")
            queued = sum(dead_letters.retry_task(task_id) for task_id in dict.fromkeys(ids))
            self._report(request, queued, len(set(ids)), "task(s) queued again")
            return
        if kind == CONVERSIONS:
            rows = self._allowed_rows(request, ConversionEvent, ids)
            queued = conversions_send.retry_dead(rows)
            self._report(request, queued, rows.count(), "Conversions API event(s) queued to be sent again")
            return
        rows = self._allowed_rows(request, SyncBatch if kind == BATCHES else WebhookEvent, ids)
        if kind == WEBHOOKS:
            queued = dead_letters.retry_webhooks(rows)
            self._report(request, queued, rows.count(), "webhook event(s) queued for processing")
            return
        retried = dead_letters.retry_batches(dead_letters.failed_batches(rows))
        if retried.catalogs:
            names = ", ".join(str(c) for c in retried.catalogs)
            self.message_user(request, f"Queued a push of {names}.", messages.SUCCESS)
        else:
            self.message_user(request, "Nothing queued: those batches are not waiting any more.", messages.WARNING)
        if retried.skipped_read_only:
            self.message_user(
                request, f"Skipped {retried.skipped_read_only} read-only (linked) catalog(s).", messages.WARNING
            )

    def _allowed_rows(self, request: HttpRequest, model, ids: list[str]) -> QuerySet:
        """The posted rows of ``model``: 404 unless all are the user's to see, 403 unless all allow ``operate``."""
        try:
            pks = sorted({int(i) for i in ids})
        except ValueError:
            raise Http404("No such row.") from None
        rows = scope_for_user(model.objects.all(), request).filter(pk__in=pks)
        tenants = dict(rows.values_list("pk", "tenant_id"))
        if len(tenants) != len(pks):
            raise Http404("No such row.")
        if not all(permissions.can(request.user, Action.OPERATE, tenant_id) for tenant_id in tenants.values()):
            raise PermissionDenied("Your role in a row's tenant does not allow retrying it.")
        return rows

    def _report(self, request: HttpRequest, queued: int, asked: int, what: str) -> None:
        self.message_user(request, f"{queued} {what}.", messages.SUCCESS if queued else messages.WARNING)
        if queued < asked:
            self.message_user(request, f"{asked - queued} were already retried by someone else.", messages.WARNING)
