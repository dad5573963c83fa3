"""Connect a tenant's Meta catalog from a terminal: the WhatsApp Connection page, without the page.

The token is read from a file or stdin (``--token-file -``), never from the command
line (it would land in shell history and ``ps``).

    manage.py connect_catalog --tenant acme --token-file token.txt --business-id 123
    manage.py connect_catalog --tenant acme --catalog 456 --flow import            # report only
    manage.py connect_catalog --tenant acme --catalog 456 --flow import --yes      # ... and enable sync
    manage.py connect_catalog --tenant acme --flow create --create-name "Acme" --yes
"""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from catalog import tenants
from catalog.connection import flows, reconcile
from catalog.management.base import ServiceCommand
from catalog.management.secret_files import SecretReader
from catalog.models import Catalog, MetaConnection, ReconciliationReport, ShopifyStore

VIA = "manage.py connect_catalog"


class Command(ServiceCommand):
    # Tests and scripts may pass stdin=... to call_command for a "-" token file.
    stealth_options = ("stdin",)
    _stdin = None
    help = "Verify and store a Meta catalog token, then import, create or link the tenant's catalog."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug or id.")
        parser.add_argument(
            "--token-file",
            help="File holding the catalog access token ('-' reads stdin). Optional when a working token is stored.",
        )
        parser.add_argument("--business-id", default="", help="Meta business id (kept from before if omitted).")
        parser.add_argument(
            "--catalog", "--catalog-id", dest="catalog_id", default="", help="Meta catalog id to import or link."
        )
        parser.add_argument("--flow", choices=Catalog.Flow.values, help="import, create or link.")
        parser.add_argument("--create-name", default="", help="Name of the catalog --flow create makes.")
        parser.add_argument("--store", default="", help="Shopify shop domain (needed when the tenant has several).")
        parser.add_argument(
            "--yes",
            action="store_true",
            help="Confirm: replace the current catalog if any, and enable sync after an import.",
        )
        parser.add_argument(
            "--delete-unmatched",
            action="store_true",
            help="With --flow import --yes: also delete Meta items that have no Shopify variant.",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object.")

    def handle(
        self,
        *args,
        tenant: str,
        token_file: str | None,
        business_id: str,
        catalog_id: str,
        flow: str | None,
        create_name: str,
        store: str,
        yes: bool,
        delete_unmatched: bool,
        as_json: bool,
        **options,
    ):
        owner = tenants.get_by_slug_or_id(tenant)
        self.as_json = as_json
        result: dict = {"tenant": owner.slug}
        if delete_unmatched and not (flow == Catalog.Flow.IMPORT and yes):
            raise CommandError("--delete-unmatched needs --flow import --yes.")
        if flow in (Catalog.Flow.IMPORT, Catalog.Flow.LINK) and not catalog_id:
            raise CommandError(f"--flow {flow} needs --catalog ID (run without --flow to list the catalogs).")
        if token_file:
            self._stdin = options.get("stdin")
            connection = self._connect(owner, self._read_token(token_file), business_id)
        else:
            connection = MetaConnection.objects.for_tenant(owner).first()
            if connection is None or not connection.token_last4:
                raise CommandError("No token stored for this tenant: pass --token-file PATH (or - for stdin).")
            if business_id and business_id != connection.business_id:
                raise CommandError("Changing the business needs its token: pass --token-file too.")
        result["connection"] = {
            "business_id": connection.business_id,
            "token": connection.token_hint,
            "status": connection.token_status,
            "expires_at": connection.token_expires_at.isoformat() if connection.token_expires_at else None,
        }
        result["catalogs"] = connection.available_catalogs
        self._say_catalogs(connection)
        if flow:
            result.update(
                self._choose(owner, self._store(owner, store), flow, catalog_id, create_name, yes, delete_unmatched)
            )
        if as_json:
            self.stdout.write(json.dumps(result, default=str))

    # -- steps ----------------------------------------------------------------------------------

    def _read_token(self, path: str) -> str:
        return SecretReader(self._stdin).read(path, "token")

    def _connect(self, owner, token: str, business_id: str) -> MetaConnection:
        connection = flows.connect_token(owner, token=token, business_id=business_id)
        self._say(
            self.style.SUCCESS(
                f"Token {connection.token_hint} saved for business {connection.business_id}: "
                f"{connection.get_token_status_display().lower()}"
                + (f", expires {connection.token_expires_at:%Y-%m-%d}" if connection.token_expires_at else "")
                + "."
            )
        )
        return connection

    def _store(self, owner, domain: str) -> ShopifyStore:
        stores = ShopifyStore.objects.for_tenant(owner).order_by("shop_domain")
        if domain:
            store = stores.filter(shop_domain=domain).first()
            if store is None:
                raise CommandError(f"Tenant {owner.slug} has no store {domain!r}.")
            return store
        found = list(stores[:2])
        if not found:
            raise CommandError("The tenant has no Shopify store yet: run connect_shopify first.")
        if len(found) > 1:
            raise CommandError("The tenant has several stores: pass --store DOMAIN.")
        return found[0]

    def _choose(self, owner, store, flow, catalog_id, create_name, yes, delete_unmatched) -> dict:
        try:
            catalog = flows.choose_catalog(
                owner,
                store=store,
                flow=flow,
                catalog_id=catalog_id,
                create_name=create_name,
                confirmed=yes,
                queue=False,
            )
        except flows.ConfirmationRequired as exc:
            for line in exc.plan.consequences():
                self._say(f"  - {line}")
            raise CommandError("This replaces the current catalog: re-run with --yes to confirm.") from exc
        self._say(
            self.style.SUCCESS(
                f"{store.shop_domain} -> catalog {catalog.name} ({catalog.meta_catalog_id}), "
                f"{catalog.get_flow_display()}."
            )
        )
        out: dict = {
            "catalog": {
                "id": catalog.pk,
                "meta_catalog_id": catalog.meta_catalog_id,
                "name": catalog.name,
                "flow": catalog.flow,
            }
        }
        if flow == Catalog.Flow.CREATE:
            pending = catalog.variants.filter(meta_status="PENDING").count()
            self._say(f"{pending} variants queued for the new catalog (the task cluster pushes them).")
        else:
            report = ReconciliationReport.objects.latest_for(catalog)
            report = reconcile.build_report(report)
            out["report"] = self._say_report(report)
            if report.state == ReconciliationReport.State.FAILED:
                raise CommandError(report.error)
            if flow == Catalog.Flow.IMPORT:
                if yes:
                    try:
                        report = reconcile.confirm_import(
                            report, delete_unmatched=delete_unmatched, via=VIA, queue=False
                        )
                    except reconcile.ReportNotApplicable as exc:
                        raise CommandError(str(exc)) from exc
                    report = reconcile.apply_report(report)
                    out["report"]["state"] = report.state
                    self._say(self.style.SUCCESS("Sync enabled: Galantis is now the source of truth for this catalog."))
                else:
                    self._say("Nothing was written to Meta. Review the report, then re-run with --yes to enable sync.")
        catalog.refresh_from_db()
        out["catalog"]["sync_enabled"] = catalog.sync_enabled
        return out

    # -- output ---------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        if not self.as_json:
            self.stdout.write(text)

    def _say_catalogs(self, connection: MetaConnection) -> None:
        self._say(f"Catalogs reachable in business {connection.business_id}:")
        for info in connection.available_catalogs:
            cta = info.get("cta") or "no commerce checkout"
            self._say(f"  {info['id']}  {info['name']}  ({info.get('product_count')} items, {cta})")
        if not connection.available_catalogs:
            self._say("  (none)")

    def _say_report(self, report: ReconciliationReport) -> dict:
        summary = {
            "id": report.pk,
            "state": report.state,
            "meta_items": report.meta_items_read,
            "matched": report.matched,
            "different": report.different,
            "id_changed": report.id_changed,
            "meta_only": report.meta_only,
            "missing_in_meta": report.missing_in_meta,
        }
        self._say(
            f"Report #{report.pk}: {report.meta_items_read} Meta items; {report.matched} matched, "
            f"{report.different} with differences, {report.id_changed} under another id (previous_id), "
            f"{report.meta_only} only in Meta, {report.missing_in_meta} Shopify variants missing in Meta."
        )
        return summary
