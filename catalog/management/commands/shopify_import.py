"""Import a tenant's Shopify catalog (paged GraphQL, or a bulk operation with --bulk)."""

import sys

from django.core.management.base import CommandError
from tqdm import tqdm

from catalog.management.base import ServiceCommand
from catalog.models import ImportRun, ShopifyStore
from catalog.shopify.errors import ShopifyError
from catalog.shopify.importer import ImportAlreadyRunning, import_store
from catalog.tenants import get_by_slug_or_id


class Command(ServiceCommand):
    help = "Import products, variants, images, collections and inventory from the tenant's Shopify store."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug or id")
        parser.add_argument("--bulk", action="store_true", help="Use a bulk operation (large stores)")
        parser.add_argument("--shop", default="", help="Shop domain, when the tenant has several stores")

    def handle(self, *args, tenant, bulk, shop, **options):
        owner = get_by_slug_or_id(tenant)
        stores = ShopifyStore.objects.for_tenant(owner)
        if shop:
            stores = stores.filter(shop_domain=shop.strip().lower())
        store_list = list(stores[:2])
        if not store_list:
            raise CommandError(f"Tenant {owner.slug} has no connected Shopify store; run connect_shopify first.")
        if len(store_list) > 1:
            raise CommandError(f"Tenant {owner.slug} has several stores; choose one with --shop.")
        store = store_list[0]
        if store.uninstalled_at:
            raise CommandError(f"The app was uninstalled from {store.shop_domain}; reconnect it first.")

        bar = None
        if sys.stderr.isatty() and options["verbosity"] > 0:
            bar = tqdm(desc=f"Importing {store.shop_domain}", unit=" products", file=sys.stderr)

        def progress(run: ImportRun) -> None:
            if bar is None:
                return
            if run.products_total and bar.total != run.products_total:
                bar.total = run.products_total
            bar.n = run.products_seen
            bar.set_postfix(variants=run.variants_seen, changed=run.variants_changed, refresh=False)
            bar.refresh()

        try:
            run = import_store(store, bulk=bulk, trigger=ImportRun.Trigger.COMMAND, progress=progress)
        except ImportAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
        except ShopifyError as exc:
            raise CommandError(f"Import failed: {exc}") from exc
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Import #{run.pk} of {store.shop_domain} {run.state}: {run.products_seen} products, "
                f"{run.variants_seen} variants ({run.products_created} products and {run.variants_created} "
                f"variants new, {run.products_updated} products and {run.variants_updated} variants updated, "
                f"{run.variants_changed} changed for Meta, {run.products_removed} products and "
                f"{run.variants_removed} variants removed)."
            )
        )
