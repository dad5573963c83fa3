"""``manage.py demo``: the demo tenant, a superuser and a staff user, and a store full of products."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog import demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo tenant, users and a Shopify store with realistic products. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--products", type=int, default=demo.DEMO_PRODUCTS, help="How many products (default %(default)s)"
        )

    def handle(self, *args, products: int, **options):
        # Development and demo instances only: it makes a superuser with a printed password.
        if not settings.SANDBOX_ENABLED:
            raise CommandError("demo runs only where the sandbox is on (SANDBOX_ENABLED, the default with DEBUG=True).")
        if products < 1:
            raise CommandError("--products must be at least 1.")
        started = time.monotonic()
        result = demo.run_demo(products=products)
        counts = result.status_counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo tenant {result.tenant.slug!r}: store {result.store.shop_domain}, {result.products} products, "
                f"{result.variants} variants ({time.monotonic() - started:.1f} s)."
            )
        )
        self.stdout.write(
            "Meta status: "
            + ", ".join(f"{counts.get(status, 0)} {status}" for status in ("PENDING", "SYNCED", "FAILED"))
        )
        catalog = result.catalog
        self.stdout.write(
            f"Meta: sandbox catalog {catalog.meta_catalog_id}, sync on; the task cluster pushes it within a "
            f"minute (or, with the server running: manage.py sync_catalog --tenant {result.tenant.slug} --wait)."
        )
        self.stdout.write(f"Admin: {settings.SITE_URL}/admin/")
        for role, username, password in result.credentials:
            self.stdout.write(f"  {role:<16} username {username:<8} password {password}")
        self.stdout.write("Passwords are new on every run of this command.")
