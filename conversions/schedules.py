"""Django-Q2 schedules of the Conversions API (applied by ``manage.py ensure_schedules``, galantis.schedules)."""

from __future__ import annotations

from galantis.schedules import Every

SEND_SCHEDULE = "conversions: send queued Purchase events"
PURGE_SCHEDULE = "conversions: clear personal data Meta can no longer take"
# A paid order queues its own send at once; this is the retry clock and the safety net of a lost task.
SCHEDULES = [
    Every(SEND_SCHEDULE, "conversions.tasks.send_due_events", 1),
    Every(PURGE_SCHEDULE, "conversions.tasks.purge_expired_events", 60),
]
