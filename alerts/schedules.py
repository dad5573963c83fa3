"""Django-Q2 schedule of the alert digests (applied by ``manage.py ensure_schedules``, galantis.schedules)."""

from __future__ import annotations

from django.conf import settings

from galantis.schedules import Every

DIGEST_SCHEDULE = "alerts: find conditions, build and send the digests"


def digest_minutes() -> int:
    """Minutes between digests (one per tenant per period)."""
    return max(int(getattr(settings, "ALERTS_DIGEST_MINUTES", 60)), 1)


SCHEDULES = [Every(DIGEST_SCHEDULE, "alerts.tasks.run_digests", digest_minutes)]
