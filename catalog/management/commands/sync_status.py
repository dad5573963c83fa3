"""manage.py sync_status: each catalog's sync state (counts, pause reason, work in flight)."""

import json

from catalog import tenants
from catalog.management.base import ServiceCommand
from catalog.sync import run


class Command(ServiceCommand):
    help = "Show the Meta sync state of a tenant's catalogs."

    def add_arguments(self, parser):
        self.add_catalog_arguments(parser)
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, tenant, catalog_id, as_json, **options):
        owner = tenants.get_by_slug_or_id(tenant)
        for catalog in run.catalogs_for(owner, catalog_id):
            state = run.status(catalog)
            if as_json:
                self.stdout.write(json.dumps(state))
                continue
            counts = " ".join(f"{k} {v}" for k, v in state["counts"].items())
            self.stdout.write(
                f"{catalog} (#{catalog.pk}, Meta {state['meta_catalog_id'] or '—'}, {state['flow']}): "
                f"{counts}; {state['in_flight']} in flight; last sync {state['last_sync_at'] or 'never'}"
            )
            verdict = state["verdict"]
            self.stdout.write(
                f"  to be live: {state['pending']} pending, {state['synced']} synced "
                f"({verdict['live']} live, {verdict['not_visible']} not visible of which {verdict['rejected']} "
                f"rejected in review, {verdict['in_review']} in review), {state['failed']} failed; "
                f"{state['excluded']} excluded"
            )
            if state["failed_by_meta"] or state["failed_locally"]:
                self.stdout.write(
                    f"  failed: {state['failed_by_meta']} rejected by Meta, "
                    f"{state['failed_locally']} caught before sending"
                )
            if state["paused"]:
                until = f" until {state['paused_until']}" if state["paused_until"] else ""
                self.stdout.write(self.style.WARNING(f"  PAUSED ({state['paused']}){until}: {state['paused_reason']}"))
