"""``manage.py sandbox_onboarding_webhook --business ID [--catalog ID] [--pixel ID]``: play Meta's
onboarding webhook against this instance (``{SITE_URL}/meta/webhooks/onboarding/``), signed with
``META_APP_SECRET``."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.graph import onboarding


class Command(BaseCommand):
    help = "Send a signed Meta onboarding (FBE install) webhook to this instance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--business", required=True, help="Meta business id (business_manager_id).")
        parser.add_argument("--catalog", default="", help="Catalog id the merchant connected.")
        parser.add_argument("--pixel", default="", help="Pixel id the merchant connected.")
        parser.add_argument("--url", default="", help="Receiver (default: {SITE_URL}/meta/webhooks/onboarding/).")

    def handle(self, *args, business: str, catalog: str, pixel: str, url: str, **options) -> None:
        if not settings.SANDBOX_ENABLED:
            raise CommandError("The sandbox is disabled (SANDBOX_ENABLED is off).")
        if not settings.META_APP_SECRET:
            raise CommandError("Set META_APP_SECRET: the webhook is signed with it.")
        url = url or f"{settings.SITE_URL.rstrip('/')}/meta/webhooks/onboarding/"
        payload = onboarding.build_payload(business_id=business, catalog_id=catalog, pixel_id=pixel)
        response = onboarding.send(url, payload, app_secret=settings.META_APP_SECRET)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}: {response.text[:200]}")
        self.stdout.write(self.style.SUCCESS(f"{url} answered 200: {response.text[:200]}"))
