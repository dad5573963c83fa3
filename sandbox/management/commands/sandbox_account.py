"""``manage.py sandbox_account [--products N] [--shopify-jsonl FILE] [--json]``: a working pair
of sandbox accounts (Meta business + Shopify shop) for the demo, scripts and manual tests.

The output has ``meta`` and ``shopify`` (credentials) and ``loaded``: what went into the shop
(products, variants, images, collections, ``orphans``: lines of the file whose parent is not in
it, with ``orphan_examples``; ``skipped``: lines of types the sandbox does not model, by type).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.graph_accounts import create_sandbox_business
from sandbox.shopify.accounts import create_and_load_sandbox_shop
from sandbox.shopify.jsonl_loading import JsonlError

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
        try:
            credentials, loaded = create_and_load_sandbox_shop(products=products, jsonl_path=shopify_jsonl)
        except JsonlError as exc:
            raise CommandError(f"{shopify_jsonl}: {exc}") from exc
        result = {"meta": create_sandbox_business(name=name), "shopify": credentials, "loaded": loaded.as_dict()}
        if loaded.orphans:
            examples = "; ".join(_orphan_text(o) for o in loaded.orphan_examples)
            self.stderr.write(
                self.style.WARNING(
                    f"{loaded.orphans} line(s) name a parent that is not in the file and were not loaded, "
                    f"e.g. {examples}"
                )
            )
        if as_json:
            self.stdout.write(json.dumps(result))
            return
        for half, values in result.items():
            self.stdout.write(self.style.SUCCESS(f"{half}:"))
            for key, value in values.items():
                self.stdout.write(f"  {key}: {_readable(key, value)}")


def _orphan_text(orphan: dict) -> str:
    return f"line {orphan['line']}: {orphan['id']} (parent {orphan['parent']})"


def _readable(key: str, value: object) -> object:
    if key == "orphan_examples":
        return "; ".join(_orphan_text(o) for o in value) or "none"
    if key == "skipped":
        return ", ".join(f"{kind} {count}" for kind, count in sorted(value.items())) or "none"
    return value
