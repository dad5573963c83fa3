"""manage.py ensure_schedules: create or update the Django-Q2 schedules (sync, Shopify in, Conversions API, alerts)."""

from django.core.management.base import BaseCommand

from alerts import schedules as alerts_schedules
from catalog.shopify import schedules as shopify_schedules
from catalog.sync import schedule
from conversions import schedules as conversions_schedules


class Command(BaseCommand):
    help = "Create/update the catalog sync, Shopify ingestion, Conversions API and alert schedules. Idempotent."

    def handle(self, *args, **options):
        names = [
            *schedule.ensure_schedules(),
            *shopify_schedules.ensure_schedules(),
            *conversions_schedules.ensure_schedules(),
            *alerts_schedules.ensure_schedules(),
        ]
        for name in names:
            self.stdout.write(self.style.SUCCESS(f"schedule ready: {name}"))
