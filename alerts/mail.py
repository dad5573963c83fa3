"""Send the digests that are waiting: each claimed by a conditional UPDATE, tried, and its outcome recorded.

A failure (mail server down, refused, a backend that raises) is written on the digest
(``attempts``, ``last_error``) and the digest stays PENDING for the next run, until
``ALERTS_MAX_SEND_ATTEMPTS`` attempts; nothing here raises into the caller.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F
from django.utils import timezone

from galantis.logredact import redact

from .models import Digest

log = logging.getLogger(__name__)
# Digests sent per run at most: a backlog after a long outage drains over a few runs.
MAX_PER_RUN = 500


def send_pending(*, now: datetime | None = None) -> tuple[int, int]:
    """Send every PENDING digest, oldest first; return (sent, failed)."""
    now = now or timezone.now()
    sent = failed = 0
    pending = Digest.objects.filter(state=Digest.State.PENDING).order_by("created_at", "pk")[:MAX_PER_RUN]
    for digest in pending:
        outcome = send_digest(digest, now=now)
        sent += outcome is True
        failed += outcome is False
    return sent, failed


def send_digest(digest: Digest, *, now: datetime) -> bool | None:
    """Try one digest; True: sent, False: failed (kept for the next run), None: another run has it."""
    # The claim: only the run that moves attempts from the value it read sends it.
    claimed = Digest.objects.filter(pk=digest.pk, state=Digest.State.PENDING, attempts=digest.attempts).update(
        attempts=F("attempts") + 1, last_attempt_at=now
    )
    if not claimed:
        return None
    try:
        EmailMessage(
            subject=digest.subject,
            body=digest.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=digest.recipients,
        ).send(fail_silently=False)
    except Exception as exc:  # any backend failure: record it, never break the run
        error = redact(f"{type(exc).__name__}: {exc}")[:2000]
        gave_up = digest.attempts + 1 >= settings.ALERTS_MAX_SEND_ATTEMPTS
        Digest.objects.filter(pk=digest.pk).update(
            last_error=error, state=Digest.State.GAVE_UP if gave_up else Digest.State.PENDING
        )
        log.warning(
            "alerts: digest %s of tenant %s not sent (attempt %s): %s",
            digest.pk,
            digest.tenant_id,
            digest.attempts + 1,
            error,
        )
        return False
    Digest.objects.filter(pk=digest.pk).update(state=Digest.State.SENT, sent_at=timezone.now(), last_error="")
    return True
