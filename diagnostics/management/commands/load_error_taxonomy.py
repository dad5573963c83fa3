from django.core.management.base import BaseCommand

from diagnostics.taxonomy import load_error_taxonomy


class Command(BaseCommand):
    help = "Create or update the error taxonomy (every Meta ErrorType of the SDK plus our own types)."

    def handle(self, *args, **options):
        count = load_error_taxonomy()
        self.stdout.write(self.style.SUCCESS(f"{count} error types loaded."))
