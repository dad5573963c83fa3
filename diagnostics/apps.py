from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _seed(sender, using: str = "default", **kwargs) -> None:
    """After migrate (and test flushes): load the error taxonomy (schedules: ``manage.py ensure_schedules``)."""
    from .taxonomy import load_error_taxonomy

    load_error_taxonomy()


class DiagnosticsConfig(AppConfig):
    name = "diagnostics"
    verbose_name = "Diagnostics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .problem_memo import install_after_migrate

        post_migrate.connect(_seed, sender=self, dispatch_uid="diagnostics-seed")
        # SQLite drops a table's triggers when a migration rebuilds it: put the version triggers back.
        post_migrate.connect(install_after_migrate, sender=self, dispatch_uid="diagnostics-issue-version")
