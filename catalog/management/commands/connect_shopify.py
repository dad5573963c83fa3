"""Connect a Shopify store to a tenant: check the token, store secrets, register webhooks."""

from django.core.management.base import CommandError

from catalog.management.base import ServiceCommand
from catalog.management.secret_files import SecretReader
from catalog.shopify.connect import ConnectError, connect_store, webhook_callback_url
from catalog.tenants import get_by_slug_or_id


class Command(ServiceCommand):
    help = (
        "Connect a Shopify store: checks the Admin API token with a shop query, stores the token and "
        "webhook secret encrypted, and registers the webhook subscriptions the app needs."
    )

    # Tests and scripts may pass stdin=... to call_command for "-" secrets.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug or id")
        parser.add_argument("--shop", required=True, help="Shop domain, e.g. my-shop.myshopify.com")
        parser.add_argument("--token-file", required=True, help="File holding the Admin API access token ('-' = stdin)")
        parser.add_argument(
            "--webhook-secret-file", required=True, help="File holding the app's webhook secret ('-' = stdin)"
        )
        parser.add_argument(
            "--admin-url",
            default="",
            help="Admin API base without version (default https://{shop}/admin/api; the sandbox's admin_url)",
        )
        parser.add_argument("--api-version", default="", help="Admin API version (default SHOPIFY_API_VERSION)")

    def handle(self, *args, tenant, shop, token_file, webhook_secret_file, admin_url, api_version, **options):
        owner = get_by_slug_or_id(tenant)
        secrets = SecretReader(options.get("stdin"))
        token = secrets.read(token_file, "access token")
        secret = secrets.read(webhook_secret_file, "webhook secret")
        try:
            result = connect_store(owner, shop, token, secret, admin_url=admin_url, api_version=api_version)
        except ConnectError as exc:
            raise CommandError(str(exc)) from exc
        store = result.store
        verb = "Connected" if result.created else "Reconnected"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {store.shop_domain} ({store.name}, {store.currency}) to tenant {owner.slug}; "
                f"token {store.token_hint}."
            )
        )
        self.stdout.write(
            f"Webhooks to {webhook_callback_url()}: {len(result.subscriptions_created)} created, "
            f"{len(result.subscriptions_existing)} already present."
        )
        if result.subscriptions_failed:
            failed = "; ".join(f"{topic}: {error}" for topic, error in result.subscriptions_failed.items())
            raise CommandError(f"Store saved, but webhook subscriptions failed: {failed}")
