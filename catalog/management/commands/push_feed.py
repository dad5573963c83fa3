"""manage.py push_feed: upload a replace (default) or update-only feed of a tenant's catalog now."""

import json

from django.core.management.base import CommandError

from catalog import tenants
from catalog.management.base import ServiceCommand
from catalog.sync import run


class Command(ServiceCommand):
    help = "Upload a primary replace feed (or --update: an update-only feed) of every shard now."

    def add_arguments(self, parser):
        self.add_catalog_arguments(parser)
        parser.add_argument("--update", action="store_true", help="Update-only feed of pending changes")
        parser.add_argument("--wait", action="store_true", help="Wait until Meta processed the uploads")
        parser.add_argument("--timeout", type=float, default=1800.0, help="Seconds --wait waits at most")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, tenant, catalog_id, update, wait, timeout, as_json, **options):
        if timeout <= 0:
            raise CommandError("--timeout must be positive.")
        owner = tenants.get_by_slug_or_id(tenant)
        for catalog in run.catalogs_for(owner, catalog_id):
            result = run.sync_now(catalog, mode="update_feed" if update else "replace_feed", wait=wait, timeout=timeout)
            if as_json:
                self.stdout.write(json.dumps(result.as_dict()))
            elif result.skipped:
                self.stdout.write(self.style.WARNING(f"{catalog} (#{catalog.pk}): {result.skipped}"))
            else:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{catalog} (#{catalog.pk}): {len(result.batches)} upload(s), {result.items} rows"
                        + (" — confirmed" if result.waited and not result.timed_out else "")
                    )
                )
