from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_schedules(sender, using: str = "default", **kwargs) -> None:
    """After migrate (and test flushes): the alert digest schedule exists."""
    from .schedules import ensure_schedules

    ensure_schedules()


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_ensure_schedules, sender=self, dispatch_uid="alerts-schedules")
