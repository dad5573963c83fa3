"""manage.py ensure_schedules: create or update the Django-Q2 schedules (sync engine, Shopify in)."""

from django.core.management.base import BaseCommand

from catalog.shopify import schedules as shopify_schedules
from catalog.sync import schedule


class Command(BaseCommand):
    help = "Create/update the catalog sync and Shopify ingestion schedules. Idempotent."

    def handle(self, *args, **options):
        for name in [*schedule.ensure_schedules(), *shopify_schedules.ensure_schedules()]:
            self.stdout.write(self.style.SUCCESS(f"schedule ready: {name}"))
