"""Django-Q2 schedule of the alert digests, created in code (idempotent, after migrate and by ensure_schedules)."""

from __future__ import annotations

from django.conf import settings
from django_q.models import Schedule

DIGEST_SCHEDULE = "alerts: find conditions, build and send the digests"


def digest_minutes() -> int:
    """Minutes between digests (one per tenant per period)."""
    return max(int(getattr(settings, "ALERTS_DIGEST_MINUTES", 60)), 1)


def ensure_schedules() -> list[str]:
    """Create or update the schedule by name; return its name."""
    Schedule.objects.update_or_create(
        name=DIGEST_SCHEDULE,
        defaults={"func": "alerts.tasks.run_digests", "schedule_type": Schedule.MINUTES,
                  "minutes": digest_minutes(), "repeats": -1},
    )
    return [DIGEST_SCHEDULE]
