"""Django-Q2 schedules of the diagnostics app (applied by ``manage.py ensure_schedules``, galantis.schedules)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django_q.models import Schedule

from galantis.schedules import Every

POLL_SCHEDULE = "diagnostics: poll Meta diagnostics"
HARVEST_SCHEDULE = "diagnostics: record sync results"
SNAPSHOT_SCHEDULE = "diagnostics: health snapshots"
TAXONOMY_SCHEDULE = "diagnostics: refresh error taxonomy"


def poll_interval_minutes() -> int:
    """Minutes between diagnostics polls (Meta recommends hourly)."""
    return max(int(getattr(settings, "DIAGNOSTICS_POLL_MINUTES", 60)), 1)


# Applied by ``manage.py ensure_schedules`` (galantis.schedules), like every schedule.
SCHEDULES = [
    Every(POLL_SCHEDULE, "diagnostics.tasks.poll_all_catalogs", poll_interval_minutes),
    # Batch / feed results become issues within a minute of the sync engine recording them.
    Every(HARVEST_SCHEDULE, "diagnostics.tasks.harvest_all_sync_results", 1),
    Every(SNAPSHOT_SCHEDULE, "diagnostics.tasks.take_health_snapshots", schedule_type=Schedule.HOURLY),
    Every(TAXONOMY_SCHEDULE, "diagnostics.tasks.refresh_error_taxonomy", schedule_type=Schedule.DAILY),
]


def next_run(names: list[str] | tuple[str, ...]) -> datetime | None:
    """The soonest next run among the named schedules (one query)."""
    return (
        Schedule.objects.filter(name__in=names, next_run__isnull=False)
        .order_by("next_run")
        .values_list("next_run", flat=True)
        .first()
    )
