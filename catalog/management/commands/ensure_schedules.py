"""manage.py ensure_schedules: create or update the Django-Q2 schedules of the sync engine."""

from django.core.management.base import BaseCommand

from catalog.sync import schedule


class Command(BaseCommand):
    help = "Create/update the catalog sync schedules (push, poll, feeds, sweep). Idempotent."

    def handle(self, *args, **options):
        for name in schedule.ensure_schedules():
            self.stdout.write(self.style.SUCCESS(f"schedule ready: {name}"))
