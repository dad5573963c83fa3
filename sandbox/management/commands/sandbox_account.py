"""``manage.py sandbox_account [--products N] [--shopify-jsonl FILE] [--json]``: a working pair
of sandbox accounts (Meta business + Shopify shop) for the demo, scripts and manual tests."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.graph_accounts import create_sandbox_business


def _shopify_factory():
    """``sandbox.shopify.accounts.create_sandbox_shop`` when the Shopify sandbox is installed."""
    try:
        module = importlib.import_module("sandbox.shopify.accounts")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("sandbox.shopify"):
            return None
        raise
    return module.create_sandbox_shop


class Command(BaseCommand):
    help = "Create a sandbox Meta business (catalog, pixel, commerce settings, token) and a sandbox Shopify shop."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=int, default=20, help="Generated Shopify products (default 20).")
        parser.add_argument("--shopify-jsonl", dest="jsonl", help="Bulk-operation JSONL file to load the shop from.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object.")
        parser.add_argument("--name", default="Sandbox Business", help="Name of the Meta business.")

    def handle(self, *args, products: int, jsonl: str | None, as_json: bool, name: str, **options) -> None:
        if not settings.SANDBOX_ENABLED:
            raise CommandError("The sandbox is switched off (SANDBOX_ENABLED is false).")
        if products < 0:
            raise CommandError("--products must be zero or more.")
        if jsonl and not Path(jsonl).is_file():
            raise CommandError(f"--shopify-jsonl: no such file {jsonl}")
        meta = create_sandbox_business(name=name)
        create_shop = _shopify_factory()
        shopify = create_shop(products=products, jsonl_path=jsonl) if create_shop else None
        if as_json:
            self.stdout.write(json.dumps({"meta": meta, "shopify": shopify}))
            return
        self.stdout.write(self.style.SUCCESS("Sandbox Meta business"))
        for key in ("graph_url", "api_version", "business_id", "catalog_id", "pixel_id", "access_token"):
            self.stdout.write(f"  {key:<14} {meta[key]}")
        if shopify is None:
            self.stdout.write(self.style.WARNING("The Shopify sandbox is not installed; no shop was created."))
            return
        self.stdout.write(self.style.SUCCESS("Sandbox Shopify shop"))
        for key, value in shopify.items():
            self.stdout.write(f"  {key:<14} {value}")
