"""``manage.py sandbox_account [--products N] [--shopify-jsonl FILE] [--json]``: a working pair
of sandbox accounts (Meta business + Shopify shop) for the demo, scripts and manual tests."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.graph_accounts import create_sandbox_business
from sandbox.shopify.accounts import create_sandbox_shop

META_KEYS = ("graph_url", "api_version", "business_id", "catalog_id", "pixel_id", "access_token")


class Command(BaseCommand):
    help = (
        "Create sandbox accounts: a Meta business (empty catalog, pixel, commerce settings, token) "
        "and a Shopify shop with products."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=int, default=20, help="Generated Shopify products (default 20).")
        parser.add_argument(
            "--shopify-jsonl", dest="shopify_jsonl", help="Load the shop's products from a bulk-operation JSONL file."
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object.")
        parser.add_argument("--name", default="Sandbox Business", help="Name of the Meta business.")

    def handle(self, *args, products: int, shopify_jsonl: str | None, as_json: bool, name: str, **options) -> None:
        if not settings.SANDBOX_ENABLED:
            raise CommandError("The sandbox is disabled (SANDBOX_ENABLED is off).")
        if products < 0:
            raise CommandError("--products must be zero or more.")
        if shopify_jsonl and not Path(shopify_jsonl).is_file():
            raise CommandError(f"No such JSONL file: {shopify_jsonl}")
        result = {
            "meta": create_sandbox_business(name=name),
            "shopify": create_sandbox_shop(products=products, jsonl_path=shopify_jsonl),
        }
        if as_json:
            self.stdout.write(json.dumps(result))
            return
        for half, values in result.items():
            self.stdout.write(self.style.SUCCESS(f"{half}:"))
            for key, value in values.items():
                self.stdout.write(f"  {key}: {value}")
