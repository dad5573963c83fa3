"""manage.py sync_catalog: push a tenant's catalog(s) to Meta now.

Modes (default: the Batch API, pending changes only):
  --full         upload a primary replace feed of every shard (a snapshot of the whole
                 catalog; Meta deletes items missing from it) — the way to fully resync
  --feed         upload the pending changes as an update-only feed instead of items_batch
  --dry-run      print what would be sent (counts per method, sample retailer ids); no call
  --wait         keep going until Meta confirmed everything sent (or --timeout seconds)
  --catalog ID   only this catalog of the tenant (default: all of them)
  --json         one JSON object per catalog on stdout
"""

import json

from django.core.management.base import BaseCommand, CommandError

from catalog import tenants
from catalog.sync import run


class Command(BaseCommand):
    help = "Sync a tenant's Meta catalog now (Batch API by default; --full for a replace feed)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug or id")
        parser.add_argument("--catalog", type=int, dest="catalog_id", help="Only this catalog (id)")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--full", action="store_true", help="Replace feed of every shard (full resync)")
        mode.add_argument("--feed", action="store_true", help="Pending changes as an update-only feed")
        mode.add_argument("--dry-run", action="store_true", help="Print what would be sent; call nothing")
        parser.add_argument("--wait", action="store_true", help="Wait until Meta confirmed what was sent")
        parser.add_argument("--timeout", type=float, default=600.0, help="Seconds --wait waits at most")
        parser.add_argument("--json", action="store_true", dest="as_json", help="One JSON object per catalog")

    def handle(self, *args, tenant, catalog_id, full, feed, dry_run, wait, timeout, as_json, **options):
        if timeout <= 0:
            raise CommandError("--timeout must be positive.")
        owner = tenants.get_by_slug_or_id(tenant)
        mode = "replace_feed" if full else "update_feed" if feed else "batch"
        for catalog in run.catalogs_for(owner, catalog_id):
            if dry_run:
                result = run.dry_run(catalog)
                if as_json:
                    self.stdout.write(json.dumps(result))
                    continue
                sends = ", ".join(f"{n} {m}" for m, n in result["would_send"].items()) or "nothing"
                self.stdout.write(f"{catalog} (#{catalog.pk}): would send {sends}"
                                  f" in batches of {result['batch_size']}"
                                  + (f" [blocked: {result['blocked']}]" if result["blocked"] else ""))
                for method, ids in result["samples"].items():
                    self.stdout.write(f"  {method}: {', '.join(ids)}{' …' if len(ids) >= run.DRY_RUN_SAMPLE else ''}")
                continue
            run.prepare(catalog)
            result = run.sync_now(catalog, mode=mode, wait=wait, timeout=timeout)
            if as_json:
                self.stdout.write(json.dumps(result.as_dict()))
                continue
            self._report(catalog, result)

    def _report(self, catalog, result: run.SyncRun) -> None:
        counts = result.status["counts"]
        summary = " ".join(f"{k} {v}" for k, v in counts.items())
        sent = f"{len(result.batches)} {result.mode} call(s), {result.items} items"
        line = f"{catalog} (#{catalog.pk}): {sent}; {summary}"
        if result.skipped:
            self.stdout.write(self.style.WARNING(f"{line} — {result.skipped}"))
        elif result.timed_out:
            self.stdout.write(self.style.WARNING(f"{line} — still waiting for Meta after --timeout"))
        else:
            self.stdout.write(self.style.SUCCESS(line))
        if result.status["paused"]:
            state = result.status
            self.stdout.write(self.style.WARNING(f"  paused ({state['paused']}): {state['paused_reason']}"))
