import json

from django.core.management.base import CommandError

from catalog import tenants
from catalog.management.base import ServiceCommand
from catalog.models import Catalog
from diagnostics.models import Priority
from diagnostics.polling import PRIORITIES, poll_catalog, poll_catalog_diagnostics


class Command(ServiceCommand):
    help = "Poll Meta's diagnostics for a tenant's catalogs (product search by priority, or one error type)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug or id")
        parser.add_argument("--catalog", type=int, help="Only this catalog (our id)")
        parser.add_argument("--error-type", dest="error_type", help="Poll only this Meta error type")
        parser.add_argument(
            "--priority",
            action="append",
            choices=Priority.values,
            help="Poll only these priorities (repeatable; default all)",
        )
        parser.add_argument(
            "--catalog-diagnostics",
            action="store_true",
            dest="catalog_diagnostics",
            help="Also read the catalog's diagnostics edge",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object")

    def handle(self, *args, tenant, catalog, error_type, priority, catalog_diagnostics, as_json, **options):
        owner = tenants.get_by_slug_or_id(tenant)  # unknown: TenantNotFound, one line (ServiceCommand)
        catalogs = Catalog.objects.for_tenant(owner).select_related("connection").order_by("pk")
        if catalog is not None:
            catalogs = catalogs.filter(pk=catalog)
            if not catalogs.exists():
                raise CommandError(f"Catalog {catalog} does not belong to tenant {owner.slug}.")
        catalogs = [c for c in catalogs if c.meta_catalog_id]
        if not catalogs:
            raise CommandError(f"Tenant {owner.slug} has no catalog connected to Meta.")

        results = []
        for item in catalogs:
            run = poll_catalog(item, priorities=priority or PRIORITIES, error_type=error_type)
            result = {
                "catalog": item.pk,
                "meta_catalog_id": item.meta_catalog_id,
                "status": run.status,
                "pages": run.pages,
                "items_seen": run.items_seen,
                "opened": run.opened,
                "updated": run.updated,
                "resolved": run.resolved,
                "error": run.error_message,
            }
            if catalog_diagnostics:
                result["catalog_diagnostics"] = poll_catalog_diagnostics(item).status
            results.append(result)
            if not as_json:
                style = self.style.SUCCESS if run.status == "ok" else self.style.WARNING
                self.stdout.write(
                    style(
                        f"{item} ({item.meta_catalog_id}): {run.status}, {run.items_seen} items with problems, "
                        f"{run.opened} opened, {run.updated} updated, {run.resolved} resolved"
                        + (f" — {run.error_message}" if run.error_message else "")
                    )
                )
        if as_json:
            self.stdout.write(json.dumps({"tenant": owner.slug, "catalogs": results}))
