from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import permissions

        post_migrate.connect(permissions.update_groups_after_migrate, dispatch_uid="catalog_tenant_groups")
