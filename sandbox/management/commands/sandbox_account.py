"""Create a sandbox Meta business and a sandbox Shopify shop; print their credentials."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox.shopify.accounts import create_sandbox_shop

try:  # the Graph API half lives in the sandbox app itself
    from sandbox.graph_accounts import create_sandbox_business
except ImportError:  # pragma: no cover - until the Graph sandbox is installed
    create_sandbox_business = None


class Command(BaseCommand):
    help = "Create sandbox accounts: a Meta business (catalog, pixel, token) and a Shopify shop with products."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=20, help="Generated Shopify products (default 20)")
        parser.add_argument("--shopify-jsonl", dest="shopify_jsonl", help="Load the shop from a bulk-operation JSONL")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object")

    def handle(self, *args, products: int, shopify_jsonl: str | None, as_json: bool, **options):
        if not settings.SANDBOX_ENABLED:
            raise CommandError("The sandbox is disabled (SANDBOX_ENABLED is off).")
        if products < 0:
            raise CommandError("--products must be zero or more.")
        if shopify_jsonl and not Path(shopify_jsonl).is_file():
            raise CommandError(f"No such JSONL file: {shopify_jsonl}")
        result = {}
        if create_sandbox_business is not None:
            result["meta"] = create_sandbox_business()
        result["shopify"] = create_sandbox_shop(products=products, jsonl_path=shopify_jsonl)
        if as_json:
            self.stdout.write(json.dumps(result))
            return
        for half, values in result.items():
            self.stdout.write(self.style.SUCCESS(f"{half}:"))
            for key, value in values.items():
                self.stdout.write(f"  {key}: {value}")
