"""Graph API clients for our catalogs and connections, built in one place, and where their throttle lives.

``catalog.meta`` is a client of the Graph API that knows no models: this module reads the
token and the quota keys off a catalog or a connection, and keeps every throttle's state in
``GraphThrottle`` rows (:class:`DatabaseThrottleStore`, passed in at start-up by
``CatalogConfig.ready``) so every worker on every machine sees the same picture.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from catalog.meta.client import GraphClient
from catalog.meta.errors import InvalidRequest
from catalog.meta.throttle import ThrottleRow
from catalog.models import Catalog, GraphThrottle, MetaConnection

# A bucket's state as ``ThrottleRow`` carries it, and the columns each save writes (besides ``key``).
ROW_FIELDS = tuple(f.name for f in fields(ThrottleRow))
USAGE_FIELDS = ("usage_pct", "updated_at")
BLOCK_FIELDS = ("blocked_until", "block_code", "block_reason", "updated_at")


class DatabaseThrottleStore:
    """Throttle state in ``GraphThrottle`` rows: one per bucket key, upserted."""

    def read(self, keys: list[str]) -> list[ThrottleRow]:
        return [ThrottleRow(**row) for row in GraphThrottle.objects.filter(key__in=keys).values(*ROW_FIELDS)]

    def save_usage(self, rows: list[ThrottleRow]) -> None:
        self._upsert(rows, USAGE_FIELDS)

    def save_blocks(self, rows: list[ThrottleRow]) -> None:
        self._upsert(rows, BLOCK_FIELDS)

    @staticmethod
    def _upsert(rows: list[ThrottleRow], columns: tuple[str, ...]) -> None:
        """Write ``columns`` of each row to its key's ``GraphThrottle`` row, leaving the others as they are."""
        GraphThrottle.objects.bulk_create(
            [GraphThrottle(key=r.key, **{name: getattr(r, name) for name in columns}) for r in rows],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=list(columns),
        )

    def clear(self, prefix: str) -> None:
        GraphThrottle.objects.filter(key__startswith=prefix).delete()


def business_key(connection: MetaConnection) -> str:
    return f"business:{connection.business_id or connection.pk}"


def client_for_connection(connection: MetaConnection, **kwargs: Any) -> GraphClient:
    """A client with the tenant's stored (encrypted) Meta token, on its business's quota."""
    kwargs.setdefault("throttle_key", business_key(connection))
    return GraphClient(connection.access_token, **kwargs)


def client_for(catalog: Catalog, **kwargs: Any) -> GraphClient:
    """A client for one catalog: its connection's token, its own quota bucket, which spends its business's too."""
    connection = catalog.connection
    if connection is None:
        raise InvalidRequest(f"Catalog {catalog.pk} has no Meta connection.")
    kwargs.setdefault("throttle_key", f"catalog:{catalog.meta_catalog_id or catalog.pk}")
    # One budget per catalog and business (catalog.meta.throttle).
    kwargs.setdefault("throttle_shared", (business_key(connection),))
    return client_for_connection(connection, **kwargs)
