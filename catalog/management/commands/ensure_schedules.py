"""manage.py ensure_schedules: apply the one schedule registry (galantis.schedules) to Django-Q2."""

from django.core.management.base import BaseCommand

from galantis.schedules import ensure_schedules


class Command(BaseCommand):
    help = (
        "Create or update every Django-Q2 schedule of the project (sync, Shopify in, diagnostics, Conversions "
        "API, alerts) and delete our own ones no longer listed. Idempotent: run it at every deploy."
    )

    def handle(self, *args, **options):
        for name in ensure_schedules():
            self.stdout.write(self.style.SUCCESS(f"schedule ready: {name}"))
