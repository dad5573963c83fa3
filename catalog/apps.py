from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from galantis import logcontext

        from . import permissions, state_counts
        from .models import ShopifyStore
        from .shopify import signing_keys

        logcontext.connect_task_signals()
        # Every Graph client's throttle state lives in the database, shared by all workers.
        from .graph_clients import DatabaseThrottleStore
        from .meta import throttle

        throttle.use_store(DatabaseThrottleStore())
        post_migrate.connect(permissions.remove_legacy_groups, sender=self, dispatch_uid="catalog_legacy_groups")
        # After every migrate (and flush): the count triggers in place, the counts proved.
        post_migrate.connect(state_counts.prove_after_migrate, sender=self, dispatch_uid="catalog_state_counts")
        # A rotated webhook secret takes effect at once in this process (see signing_keys).
        post_save.connect(signing_keys.forget_store, sender=ShopifyStore, dispatch_uid="catalog_store_key_saved")
        post_delete.connect(signing_keys.forget_store, sender=ShopifyStore, dispatch_uid="catalog_store_key_deleted")
