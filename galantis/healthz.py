"""``GET /healthz``: is this instance able to work? For load balancers and monitoring.

Checks the database (a trivial query), the task queue (backlog and the age of its oldest
task, ORM broker) and the schedules (a schedule overdue by more than ``SCHEDULE_GRACE``
means no task cluster is running). Answers 200 when all pass, 503 otherwise, with a JSON
body of figures only: no secrets, no tenant data, no error texts that could carry either.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# A schedule may run this late before the cluster counts as stopped (the cluster wakes every
# few seconds; minute schedules are picked up within one cycle).
SCHEDULE_GRACE = timedelta(minutes=5)
# A queued task waiting longer than this means the workers cannot keep up (or none run).
QUEUE_GRACE = timedelta(minutes=10)


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return {"ok": False}
    return {"ok": True, "vendor": connection.vendor}


def _queue(now) -> dict:
    from django_q.models import OrmQ

    if "orm" not in settings.Q_CLUSTER:
        return {"ok": True, "broker": "redis"}
    oldest = OrmQ.objects.order_by("lock").values_list("lock", flat=True).first()
    waiting = (now - oldest).total_seconds() if oldest and oldest < now else 0
    return {
        "ok": waiting < QUEUE_GRACE.total_seconds(),
        "broker": "orm",
        "backlog": OrmQ.objects.count(),
        "oldest_waiting_seconds": round(waiting),
    }


def _schedules(now) -> dict:
    from django_q.models import Schedule

    active = Schedule.objects.exclude(repeats=0)
    late = active.filter(next_run__lt=now - SCHEDULE_GRACE)
    most_late = late.order_by("next_run").values_list("next_run", flat=True).first()
    return {
        "ok": active.exists() and most_late is None,
        "count": active.count(),
        "overdue": late.count(),
        "most_overdue_seconds": round((now - most_late).total_seconds()) if most_late else 0,
    }


@never_cache
@require_GET
def healthz(request):
    """200 ``{"status": "ok", ...}`` when the database, the task queue and the schedules are alive; else 503."""
    now = timezone.now()
    database = _database()
    checks = {"database": database}
    if database["ok"]:
        checks["queue"] = _queue(now)
        checks["schedules"] = _schedules(now)
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if ok else "failing", "checks": checks}, status=200 if ok else 503)
