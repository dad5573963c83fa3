"""Django-Q2 schedules of the Shopify ingestion, created in code (idempotent)."""

from __future__ import annotations

from django.conf import settings
from django_q.models import Schedule

# name -> (task, minutes between runs)
SCHEDULES = {
    "shopify in: reconcile stores (catch missed webhooks)": (
        "catalog.tasks.reconcile_shopify_stores",
        lambda: settings.SHOPIFY_RECONCILE_MINUTES,
    ),
    # The safety net of the webhook queue: events no task processed are picked up here.
    "shopify in: process webhook events whose task was lost": ("catalog.tasks.sweep_shopify_webhooks", lambda: 1),
}


def ensure_schedules(schedule_model=Schedule) -> list[str]:
    """Create or update the schedules; return their names. Safe to call at every deploy."""
    for name, (func, minutes) in SCHEDULES.items():
        schedule_model.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes(), "repeats": -1},
        )
    return list(SCHEDULES)
