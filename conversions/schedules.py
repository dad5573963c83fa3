"""Django-Q2 schedules of the Conversions API, created in code (idempotent, after migrate and by ensure_schedules)."""

from __future__ import annotations

from django_q.models import Schedule

SEND_SCHEDULE = "conversions: send queued Purchase events"
PURGE_SCHEDULE = "conversions: clear personal data Meta can no longer take"

# name -> (task, minutes between runs). A paid order queues its own send at once; this
# is the retry clock and the safety net of a lost task.
SCHEDULES = {
    SEND_SCHEDULE: ("conversions.tasks.send_due_events", 1),
    PURGE_SCHEDULE: ("conversions.tasks.purge_expired_events", 60),
}


def ensure_schedules() -> list[str]:
    """Create or update the schedules by name; return their names."""
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1},
        )
    return list(SCHEDULES)
