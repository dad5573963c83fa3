"""The daily re-check of every stored Meta connection: its token, its catalog list, its catalogs' checks.

Above the modules it combines (``token_health``, ``flows``, ``catalogs``), which import
none of it.
"""

from __future__ import annotations

import logging

from catalog.models import Catalog, MetaConnection

from . import token_health
from .catalogs import refresh_checks
from .flows import FlowError, refresh_catalog_list

logger = logging.getLogger(__name__)


def check_all_tokens() -> int:
    """Check every stored token, then its catalog list and catalogs' pixel and commerce checks (daily).

    Returns how many tokens were checked. The pixel (event source) and ONSITE_CHECKOUT
    checks can change in Commerce Manager at any time, so they are re-read with the token
    rather than only at connect.
    """
    checked = 0
    ids = MetaConnection.objects.exclude(token_last4="").values_list("pk", flat=True)
    for connection in MetaConnection.objects.filter(pk__in=list(ids)).iterator(chunk_size=200):
        status = token_health.check_token(connection)
        checked += 1
        if status in MetaConnection.BLOCKING_STATUSES:
            continue
        refresh_catalog_list_quietly(connection)
        for catalog in (
            Catalog.objects.filter(connection=connection).exclude(meta_catalog_id="").select_related("connection")
        ):
            refresh_checks(catalog)
    return checked


def refresh_catalog_list_quietly(connection: MetaConnection) -> None:
    """Re-list the business's catalogs (what WhatsApp Connection offers); a failure is logged, not raised."""
    try:
        refresh_catalog_list(connection)
    except FlowError as exc:
        logger.warning("connection %s: catalog list not refreshed: %s", connection.pk, exc)
