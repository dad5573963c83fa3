"""The base of commands that call services: a service's refusal ends the command with one line."""

from django.core.management.base import BaseCommand, CommandError

from catalog.domain_errors import DomainError


class ServiceCommand(BaseCommand):
    """A command whose services' :class:`DomainError` becomes a ``CommandError`` (exit 1, one line)."""

    def add_catalog_arguments(self, parser) -> None:
        """``--tenant`` (required) and ``--catalog`` (one of its catalogs), for commands that work per catalog."""
        parser.add_argument("--tenant", required=True, help="Tenant slug or id")
        parser.add_argument("--catalog", type=int, dest="catalog_id", help="Only this catalog (id)")

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DomainError as error:
            raise CommandError(str(error)) from error
