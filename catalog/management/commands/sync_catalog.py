"""manage.py sync_catalog: push a tenant's catalog(s) to Meta now.

Modes (default: the Batch API, pending changes only):
  --full         upload a primary replace feed of every shard (a snapshot of the whole
                 catalog; Meta deletes items missing from it) — the way to fully resync
  --feed         upload the pending changes as an update-only feed instead of items_batch
  --dry-run      print what would be sent (counts per method, sample retailer ids); no call
  --wait         keep going until Meta confirmed everything sent (or --timeout seconds),
                 then bring the catalog's product sets up to date with what Meta holds
  --catalog ID   only this catalog of the tenant (default: all of them)
  --json         one JSON object per catalog on stdout
"""

import json

from django.core.management.base import CommandError

from catalog import tenants
from catalog.management.base import ServiceCommand
from catalog.sync import product_sets, run


class Command(ServiceCommand):
    help = "Sync a tenant's Meta catalog now (Batch API by default; --full for a replace feed)."

    def add_arguments(self, parser):
        self.add_catalog_arguments(parser)
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
                self.stdout.write(
                    f"{catalog} (#{catalog.pk}): would send {sends}"
                    f" in batches of {result['batch_size']}"
                    + (f" [blocked: {result['blocked']}]" if result["blocked"] else "")
                )
                for method, ids in result["samples"].items():
                    self.stdout.write(f"  {method}: {', '.join(ids)}{' …' if len(ids) >= run.DRY_RUN_SAMPLE else ''}")
                continue
            run.prepare(catalog)
            result = run.sync_now(catalog, mode=mode, wait=wait, timeout=timeout)
            # After --wait the items are confirmed: the sets name what Meta holds now.
            sets = product_sets.sync_product_sets(catalog, wait_for_items=not wait)
            if as_json:
                self.stdout.write(json.dumps({**result.as_dict(), "product_sets": sets.as_dict()}))
                continue
            self._report(catalog, result)
            self._report_sets(sets)

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

    def _report_sets(self, sets: product_sets.SetSyncReport) -> None:
        if sets.skipped_reason and not sets.writes:
            self.stdout.write(f"  product sets: not synced ({sets.skipped_reason})")
            return
        parts = [
            f"{len(sets.created)} created",
            f"{len(sets.updated)} updated",
            f"{len(sets.deleted)} deleted",
            f"{sets.unchanged} unchanged",
            f"{len(sets.waiting)} waiting for items",
        ]
        if sets.blocked:
            parts.append(f"{len(sets.blocked)} kept (live in a shop, confirm deletion in the admin)")
        if sets.failed:
            parts.append(f"{len(sets.failed)} failed")
        line = "  product sets: " + ", ".join(parts)
        self.stdout.write(self.style.WARNING(line) if sets.failed or sets.blocked else line)
