"""``manage.py demo``: the demo tenant and its users, a connected sandbox shop, imported and synced.

The output is the newcomer's map: every page (admin and merchant pages) with who may open
it, every user with a fresh password, and the commands that make the sandbox shop change.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from sandbox import demo


def pages() -> list[tuple[str, str, str]]:
    """``(name, url, who)`` of every page a newcomer should open, merchant pages first."""
    site = settings.SITE_URL
    return [
        ("Catalog health", site + reverse("health:index"), "merchant page: owner, staff, superuser"),
        ("WhatsApp Connection", site + reverse("connection:whatsapp"), "merchant page: owner changes it, staff look"),
        ("Admin", site + reverse("admin:index"), "staff work: products, sync, Shopify, diagnostics"),
    ]


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo: a tenant with an owner and a staff user, a superuser, a sandbox Shopify "
        "shop connected and imported, and a sandbox Meta catalog it syncs to. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--products", type=int, default=demo.DEMO_PRODUCTS, help="How many products (default %(default)s)"
        )

    def handle(self, *args, products: int, **options) -> None:
        # Development and demo instances only: it makes a superuser with a printed password.
        if not settings.SANDBOX_ENABLED:
            raise CommandError("demo runs only where the sandbox is on (SANDBOX_ENABLED, the default with DEBUG=True).")
        if products < 1:
            raise CommandError("--products must be at least 1.")
        started = time.monotonic()
        result = demo.run_demo(products=products)
        counts = result.status_counts
        run = result.import_run
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo tenant {result.tenant.slug!r}: Shopify store {result.store.shop_domain} connected and imported "
                f"(import #{run.pk} {run.state}), {result.products} products, {result.variants} variants "
                f"({time.monotonic() - started:.1f} s)."
            )
        )
        self.stdout.write(
            "Meta status: "
            + ", ".join(f"{counts.get(status, 0)} {status}" for status in ("PENDING", "SYNCED", "FAILED"))
            + f"; {result.webhook_events} Shopify webhook event(s) received."
        )
        catalog = result.catalog
        self.stdout.write(
            f"Meta: sandbox catalog {catalog.meta_catalog_id}, sync on; the task cluster pushes it within a "
            f"minute (or, with the server running: manage.py sync_catalog --tenant {result.tenant.slug} --wait)."
        )
        self.stdout.write(self.style.SUCCESS("Pages:"))
        for name, url, who in pages():
            self.stdout.write(f"  {name:<20} {url:<48} {who}")
        self.stdout.write(self.style.SUCCESS("Users (log in on any page above):"))
        for user in result.users:
            self.stdout.write(f"  {user.role:<38} username {user.username:<8} password {user.password}")
        self.stdout.write("Passwords are new on every run of this command.")
        self.stdout.write(self.style.SUCCESS("Change the shop as a merchant would (webhooks reach the server):"))
        self.stdout.write(
            f"  manage.py sandbox_shopify_change --shop {result.store.shop_domain} random --count 5"
            "   (or the admin: Sandbox: Shopify → Shops)"
        )
