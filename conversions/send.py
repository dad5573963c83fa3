"""The durable queue: claim due events, send them to the catalog's pixel, record what Meta said.

One ``ConversionEvent`` row per event is the truth; tasks are nudges (a paid order queues
a send of its catalog at once, the one-minute schedule re-finds anything due). A row is
taken by a conditional UPDATE (QUEUED -> SENDING), so two workers never send it twice;
Meta de-duplicates on event_id anyway, so a worker that dies after sending and before
recording only causes a harmless repeat once its claim goes stale.

What happens on each answer:

* accepted: SENT; ``user_data`` is cleared from the row (only its key names stay).
* 5xx, timeouts, ``is_transient`` and throttling (codes 4, 17, 32, 613, 80004...): retried
  with exponential back-off (``RETRY_BASE`` doubled per attempt, at most ``RETRY_MAX``,
  at least the wait Meta asks for); DEAD after ``MAX_ATTEMPTS`` attempts.
* token expired or revoked, permission missing: kept queued and tried every
  ``BLOCKED_RECHECK`` without spending attempts (a person fixes the token, then it goes).
* anything else Meta refuses (code 100: invalid event...): DEAD at once with Meta's
  message; retrying the same event cannot help. A refused request of several events is
  sent again one event at a time, so only the bad event dies.
* no pixel on the catalog (none entered, none linked), no Meta connection: kept queued,
  looked at again every ``BLOCKED_RECHECK``.
* older than Meta's 7 days before it could go: DEAD, and its personal data cleared.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Func, JSONField, QuerySet
from django.utils import timezone

from catalog.graph_clients import client_for
from catalog.meta.errors import AuthError, GraphAPIError, PermissionDenied, RateLimited
from catalog.models import Catalog
from galantis.logredact import redact
from galantis.queue import enqueue

from . import events
from .models import ConversionEvent
from .orders import settings_for

logger = logging.getLogger(__name__)


class WithoutUserData(Func):
    """An event payload with its ``user_data`` emptied, computed by the database (one UPDATE for a request)."""

    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="jsonb_set(%(expressions)s, '{user_data}', '{}'::jsonb)")

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="json_set(%(expressions)s, '$.user_data', json('{}'))")


State = ConversionEvent.State
# Failed sends (5xx, throttling) before an event is dead.
MAX_ATTEMPTS = 8
# Back-off between them: 1, 2, 4 ... minutes, at most an hour (8 attempts span ~2 hours).
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)
# A queued event waiting for a person (no pixel, token to renew) is looked at this often.
BLOCKED_RECHECK = timedelta(minutes=15)
# A claim whose worker never recorded an answer is released after this.
CLAIM_TIMEOUT = timedelta(minutes=10)
# Events per request (Meta takes up to 1,000; a smaller request fails smaller).
EVENTS_PER_REQUEST = 100
# Requests per catalog per task run (bounded tasks); the schedule picks up the rest.
MAX_REQUESTS_PER_RUN = 10


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_MAX)


def claim(catalog_id: int, limit: int = EVENTS_PER_REQUEST, now=None) -> list[ConversionEvent]:
    """Take up to ``limit`` due events of the catalog (oldest first); return those this worker got.

    Three statements whatever ``limit`` (one UPDATE per event cost most of a send's time):
    the due rows are read and locked in one transaction, skipping rows another worker has
    locked (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite serialises writing transactions),
    moved to SENDING together, and read back.
    """
    now = now or timezone.now()
    with transaction.atomic():
        mine = list(
            ConversionEvent.objects.filter(catalog_id=catalog_id)
            .due(now)
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        ConversionEvent.objects.filter(pk__in=mine, state=State.QUEUED).update(
            state=State.SENDING, claimed_at=now, updated_at=now
        )
    return list(ConversionEvent.objects.filter(pk__in=mine).order_by("pk"))


def release_stale_claims(now=None) -> int:
    """Claims whose worker died go back to the queue (Meta de-duplicates a repeat by event_id)."""
    now = now or timezone.now()
    return ConversionEvent.objects.filter(state=State.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT).update(
        state=State.QUEUED, claimed_at=None, next_attempt_at=now, updated_at=now
    )


def send_catalog_events(catalog_id: int) -> SendResult:
    """Send the catalog's due events, a bounded number of requests; return what happened."""
    result = SendResult()
    catalog = Catalog.objects.select_related("connection").filter(pk=catalog_id).first()
    if catalog is None:
        return result
    for _ in range(MAX_REQUESTS_PER_RUN):
        rows = claim(catalog_id)
        if not rows:
            break
        _send_claimed(catalog, rows, result)
        if result.waiting:
            break  # blocked on the pixel or the token: the rest would wait the same
    return result


def _send_claimed(catalog: Catalog, rows: list[ConversionEvent], result: SendResult) -> None:
    now = timezone.now()
    expired = [row for row in rows if events.too_old(row.event_time, now)]
    if expired:
        _dead(expired, "Not sent within 7 days of the order: Meta refuses events that old.", "expired", clear=True)
        result.dead += len(expired)
        rows = [row for row in rows if row not in expired]
    if not rows:
        return
    settings = settings_for(catalog.tenant_id)
    if not settings.enabled:
        _dead(rows, "The Conversions API was turned off for this tenant before the event was sent.", "disabled")
        result.dead += len(rows)
        return
    blocked = _blocked_reason(catalog)
    if blocked:
        _wait(rows, blocked, now)
        result.waiting += len(rows)
        return
    _post(catalog, rows, settings.test_event_code, result)


def _blocked_reason(catalog: Catalog) -> str:
    """Why nothing can be sent for the catalog now (a person must act), or ""."""
    if not catalog.pixel_id:
        return (
            "No pixel is linked to the catalog: enter your Meta Pixel id in Settings → WhatsApp Connection "
            "(“Connect pixel”); queued events go as soon as it is there."
        )
    if catalog.connection is None or not catalog.connection.access_token:
        return "The catalog has no Meta connection (token): connect one in Settings → WhatsApp Connection."
    return ""


def _post(catalog: Catalog, rows: list[ConversionEvent], test_event_code: str, result: SendResult) -> None:
    client = client_for(catalog, max_retries=0)  # the queue retries, a worker never sleeps
    params: dict = {"data": [row.payload for row in rows]}
    if test_event_code:
        params["test_event_code"] = test_event_code
    try:
        answer = client.post(f"{catalog.pixel_id}/events", params, as_json=True)
    except GraphAPIError as exc:
        _failed(catalog, rows, exc, test_event_code, result)
        return
    except Exception as exc:  # noqa: BLE001 - a bug must not leave rows claimed until the timeout
        logger.exception("Conversions API send for catalog %s failed", catalog.pk)
        _retry(rows, f"{type(exc).__name__}: {exc}", "error", timezone.now(), result)
        return
    received = answer.get("events_received")
    now = timezone.now()
    sent_fields = dict(
        state=State.SENT,
        sent_at=now,
        claimed_at=None,
        pixel_id=catalog.pixel_id,
        test_event_code=test_event_code,
        fbtrace_id=str(answer.get("fbtrace_id") or "")[:64],
        last_error="",
        last_error_code="",
        updated_at=now,
        attempts=F("attempts") + 1,
    )
    if received != len(rows):
        sent_fields["note"] = f"Meta answered events_received={received!r} for a request of {len(rows)} event(s)."
    # Meta has them: keep the events without the customer's (hashed) data, in one UPDATE.
    ConversionEvent.objects.filter(pk__in=[row.pk for row in rows], state=State.SENDING).update(
        payload=WithoutUserData("payload"), **sent_fields
    )
    result.sent += len(rows)
    logger.info("Sent %d Conversions API event(s) of catalog %s to pixel %s", len(rows), catalog.pk, catalog.pixel_id)


def _failed(
    catalog: Catalog, rows: list[ConversionEvent], exc: GraphAPIError, test_event_code: str, result: SendResult
) -> None:
    now = timezone.now()
    message = redact(f"Meta: {exc.user_message or exc.message}" + (f" ({exc.user_title})" if exc.user_title else ""))
    if isinstance(exc, AuthError | PermissionDenied):
        _wait(
            rows,
            f"{message} Fix the Meta token or its permissions; the events are kept until then.",
            now,
            code=exc.code_label,
        )
        result.waiting += len(rows)
        return
    if exc.retryable:
        wait = exc.retry_after if isinstance(exc, RateLimited) else 0.0
        _retry(rows, message, exc.code_label, now, result, at_least=timedelta(seconds=wait))
        return
    if len(rows) > 1:
        # One bad event refuses the whole request: find it by sending each alone.
        for row in rows:
            _post(catalog, [row], test_event_code, result)
        return
    _dead(rows, message, exc.code_label)
    result.dead += len(rows)
    result.errors.append(message)


def _retry(
    rows: list[ConversionEvent], message: str, code: str, now, result: SendResult, *, at_least: timedelta = timedelta()
) -> None:
    for row in rows:
        attempts = row.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            _dead([row], f"Gave up after {attempts} attempts. Last error: {message}", code, attempts=attempts)
            result.dead += 1
            continue
        ConversionEvent.objects.filter(pk=row.pk, state=State.SENDING).update(
            state=State.QUEUED,
            attempts=attempts,
            next_attempt_at=now + max(backoff(attempts), at_least),
            claimed_at=None,
            last_error=message[:5000],
            last_error_code=code[:32],
            updated_at=now,
        )
        result.retried += 1
    result.errors.append(message)


def _wait(rows: list[ConversionEvent], message: str, now, *, code: str = "blocked") -> None:
    """Back to the queue without spending an attempt: a person must act first."""
    ConversionEvent.objects.filter(pk__in=[row.pk for row in rows], state=State.SENDING).update(
        state=State.QUEUED,
        next_attempt_at=now + BLOCKED_RECHECK,
        claimed_at=None,
        last_error=message[:5000],
        last_error_code=code[:32],
        updated_at=now,
    )


def _dead(rows: list[ConversionEvent], message: str, code: str, *, clear: bool = False, attempts=None) -> None:
    now = timezone.now()
    values = dict(
        state=State.DEAD, claimed_at=None, last_error=message[:5000], last_error_code=code[:32], updated_at=now
    )
    if attempts is not None:
        values["attempts"] = attempts
    for row in rows:
        if clear:
            values["payload"] = {**row.payload, "user_data": {}}
        ConversionEvent.objects.filter(pk=row.pk, state=State.SENDING).update(**values)
    logger.warning("%d Conversions API event(s) dead: %s", len(rows), message[:200])


# -- the schedule, the purge, the dead letters ------------------------------------------------


def due_catalog_ids(now=None) -> list[int]:
    return sorted(
        set(ConversionEvent.objects.due(now).exclude(catalog=None).values_list("catalog_id", flat=True).distinct())
    )


def queue_due_sends(now=None) -> int:
    """Release stale claims, then queue one send task per catalog with due events; return how many."""
    release_stale_claims(now)
    ids = due_catalog_ids(now)
    for catalog_id in ids:
        enqueue("conversions.tasks.send_catalog_events", catalog_id, group=f"conversions:{catalog_id}")
    # Events whose catalog is gone can never go.
    ConversionEvent.objects.filter(state=State.QUEUED, catalog=None).update(
        state=State.DEAD,
        last_error="The catalog was deleted before the event was sent.",
        last_error_code="local",
        payload={},
        updated_at=timezone.now(),
    )
    return len(ids)


def purge_expired(now=None) -> int:
    """Events Meta can no longer take (older than 7 days, not sent) lose their personal data; return how many."""
    now = now or timezone.now()
    cutoff = now - events.MAX_EVENT_AGE
    stale = ConversionEvent.objects.filter(event_time__lt=cutoff).exclude(state__in=(State.SENT, State.SENDING))
    count = 0
    for row in stale.exclude(payload__user_data={}).only("pk", "payload", "state").iterator(chunk_size=500):
        values = {"payload": {**row.payload, "user_data": {}}, "updated_at": now}
        if row.state == State.QUEUED:
            values.update(
                state=State.DEAD,
                last_error_code="expired",
                last_error="Not sent within 7 days of the order: Meta refuses events that old.",
            )
        count += ConversionEvent.objects.filter(pk=row.pk, state=row.state).update(**values)
    return count


def dead_events(queryset: QuerySet[ConversionEvent]) -> QuerySet[ConversionEvent]:
    """The DEAD events among ``queryset`` (already scoped to the user), newest first."""
    return queryset.filter(state=State.DEAD).order_by("-updated_at", "-pk")


def send_now(queryset: QuerySet[ConversionEvent]) -> int:
    """Queued events among ``queryset`` become due at once (a pixel was just linked...); return how many."""
    now = timezone.now()
    pks = list(queryset.filter(state=State.QUEUED).values_list("pk", flat=True))
    count = ConversionEvent.objects.filter(pk__in=pks, state=State.QUEUED).update(next_attempt_at=now, updated_at=now)
    _queue_sends(pks)
    return count


def _queue_sends(pks: list[int]) -> None:
    for catalog_id in sorted(
        set(ConversionEvent.objects.filter(pk__in=pks).exclude(catalog=None).values_list("catalog_id", flat=True))
    ):
        enqueue("conversions.tasks.send_catalog_events", catalog_id, group=f"conversions:{catalog_id}")


def retry_dead(queryset: QuerySet[ConversionEvent]) -> int:
    """Put the still-DEAD events among ``queryset`` back in the queue with fresh attempts; return how many."""
    now = timezone.now()
    pks = list(queryset.filter(state=State.DEAD).values_list("pk", flat=True))
    retried = ConversionEvent.objects.filter(pk__in=pks, state=State.DEAD).update(
        state=State.QUEUED, attempts=0, next_attempt_at=now, claimed_at=None, updated_at=now
    )
    _queue_sends(pks)
    return retried
