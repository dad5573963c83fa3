"""Every Django-Q2 schedule of the project, in one registry; ``manage.py ensure_schedules`` applies it.

Each app lists its own schedules (``SCHEDULES``, a list of :class:`Every`) next to the
tasks they run; nothing else creates a schedule: no migration, no ``post_migrate`` hook,
no demo. Names are stable, so applying the registry updates in place, and a schedule the
registry no longer lists is deleted when its task belongs to this project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from django.utils import timezone
from django_q.models import Schedule

# The modules whose ``SCHEDULES`` make up the registry.
MODULES = (
    "catalog.sync.schedule",
    "catalog.shopify.schedules",
    "diagnostics.schedules",
    "conversions.schedules",
    "alerts.schedules",
)
# Tasks of these packages belong to this project: their schedules are the registry's.
OWN_TASKS = ("catalog.", "diagnostics.", "conversions.", "alerts.")


@dataclass(frozen=True)
class Every:
    """One schedule: run ``func`` every ``minutes`` (a number, or a function of the settings)."""

    name: str
    func: str
    minutes: int | Callable[[], int] | None = None
    schedule_type: str = Schedule.MINUTES

    def defaults(self) -> dict:
        minutes = self.minutes() if callable(self.minutes) else self.minutes
        return {"func": self.func, "schedule_type": self.schedule_type, "minutes": minutes, "repeats": -1}


def registry() -> list[Every]:
    """Every schedule of every module in :data:`MODULES`."""
    return [every for module in MODULES for every in import_module(module).SCHEDULES]


def ensure_schedules(now=None) -> list[str]:
    """Create or update every schedule of the registry, delete our own it no longer lists; return the names.

    A new schedule first runs a minute from now, so a fresh install's schedules do not
    all start in the same second.
    """
    now = now or timezone.now()
    wanted = registry()
    for every in wanted:
        schedule, created = Schedule.objects.update_or_create(name=every.name, defaults=every.defaults())
        if created or schedule.next_run is None:
            Schedule.objects.filter(pk=schedule.pk).update(next_run=now + timedelta(minutes=1))
    names = [every.name for every in wanted]
    stale = Schedule.objects.exclude(name__in=names)
    for prefix in OWN_TASKS:
        stale.filter(func__startswith=prefix).delete()
    return names
