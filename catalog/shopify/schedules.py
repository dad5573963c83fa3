"""Django-Q2 schedules of the Shopify ingestion (applied by ``manage.py ensure_schedules``, galantis.schedules)."""

from __future__ import annotations

from django.conf import settings

from galantis.schedules import Every

SCHEDULES = [
    Every(
        "shopify in: reconcile stores (catch missed webhooks)",
        "catalog.tasks.reconcile_shopify_stores",
        lambda: settings.SHOPIFY_RECONCILE_MINUTES,
    ),
    # The safety net of the webhook queue: events no task processed are picked up here.
    Every("shopify in: process webhook events whose task was lost", "catalog.tasks.sweep_shopify_webhooks", 1),
]
