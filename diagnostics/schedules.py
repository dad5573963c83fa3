"""Django-Q2 schedules of the diagnostics app, created in code (idempotent, run after migrate)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

POLL_SCHEDULE = "diagnostics: poll Meta diagnostics"
HARVEST_SCHEDULE = "diagnostics: record sync results"
SNAPSHOT_SCHEDULE = "diagnostics: health snapshots"
TAXONOMY_SCHEDULE = "diagnostics: refresh error taxonomy"


def poll_interval_minutes() -> int:
    """Minutes between diagnostics polls (Meta recommends hourly)."""
    return max(int(getattr(settings, "DIAGNOSTICS_POLL_MINUTES", 60)), 1)


def schedule_specs() -> list[dict]:
    """The schedules this app needs: name, task, and how often."""
    return [
        {"name": POLL_SCHEDULE, "func": "diagnostics.tasks.poll_all_catalogs",
         "schedule_type": Schedule.MINUTES, "minutes": poll_interval_minutes()},
        # Batch / feed results become issues within a minute of the sync engine recording them.
        {"name": HARVEST_SCHEDULE, "func": "diagnostics.tasks.harvest_all_sync_results",
         "schedule_type": Schedule.MINUTES, "minutes": 1},
        {"name": SNAPSHOT_SCHEDULE, "func": "diagnostics.tasks.take_health_snapshots",
         "schedule_type": Schedule.HOURLY, "minutes": None},
        {"name": TAXONOMY_SCHEDULE, "func": "diagnostics.tasks.refresh_error_taxonomy",
         "schedule_type": Schedule.DAILY, "minutes": None},
    ]


def ensure_schedules(now: datetime | None = None) -> int:
    """Create or update the schedules by name; ``catch_up`` off so a restart doesn't replay missed polls."""
    now = now or timezone.now()
    for spec in schedule_specs():
        name = spec.pop("name")
        schedule, created = Schedule.objects.update_or_create(name=name, defaults=spec)
        if created or schedule.next_run is None:
            # Spread the first runs a little so they don't all start at the same second.
            Schedule.objects.filter(pk=schedule.pk).update(next_run=now + timedelta(minutes=1))
    return len(schedule_specs())


def next_run(names: list[str] | tuple[str, ...]) -> datetime | None:
    """The soonest next run among the named schedules (one query)."""
    return (
        Schedule.objects.filter(name__in=names, next_run__isnull=False).order_by("next_run")
        .values_list("next_run", flat=True).first()
    )
