"""Deleting Meta items Galantis replaced (variants scenario 3, ids that changed) or was told to remove.

Nothing here deletes an item on its own initiative: a replaced id goes once its
successor is in Meta (or first, when Meta refuses the successor while it exists), an
unmatched item only when a merchant explicitly chose so. Linked catalogs are refused.
"""

from __future__ import annotations

import logging

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from catalog import item_state
from catalog.meta.client import GraphClient
from catalog.meta.errors import GraphAPIError
from catalog.models import Catalog, MetaItemDeletion, Variant
from galantis.logredact import redact

from .catalogs import ensure_writable

logger = logging.getLogger(__name__)

# Meta's items_batch limit.
MAX_DELETES_PER_BATCH = 5000


def queue_deletions(report, catalog: Catalog, retailer_ids: list[str], reason: str, user,
                    goes_first: set[str] = frozenset()) -> None:
    """Queue Meta item ids for deletion (idempotent); our own retailer ids are never queued."""
    # Never queue one of our own ids (an exact match elsewhere owns it).
    ours = set(
        Variant.objects.for_tenant(catalog.tenant_id).filter(catalog=catalog, retailer_id__in=retailer_ids)
        .values_list("retailer_id", flat=True)
    )
    MetaItemDeletion.objects.bulk_create(
        [
            MetaItemDeletion(tenant_id=catalog.tenant_id, catalog=catalog, retailer_id=rid, reason=reason,
                             report=report, chosen_by=user, goes_first=rid in goes_first)
            for rid in dict.fromkeys(retailer_ids)
            if rid not in ours
        ],
        batch_size=500,
        ignore_conflicts=True,
    )


def deletions_ready(catalog: Catalog) -> QuerySet[MetaItemDeletion]:
    """Queued deletions that may go now.

    A replaced id goes only once every variant that took it over (``previous_id``) is
    SYNCED, so the item never vanishes before its successor exists, unless it must go
    first (``goes_first``: Meta refuses the successors while it exists). Our own
    retailer ids are never deleted.
    """
    variants = Variant.objects.filter(catalog=catalog)
    successor_not_synced = variants.filter(previous_id=OuterRef("retailer_id")).exclude(
        meta_status=Variant.SyncStatus.SYNCED
    )
    successor_exists = variants.filter(previous_id=OuterRef("retailer_id"))
    ours = variants.filter(retailer_id=OuterRef("retailer_id"))
    return (
        MetaItemDeletion.objects.for_tenant(catalog.tenant_id)
        .filter(catalog=catalog)
        .waiting()
        .filter(~Exists(ours))
        .filter(
            Q(reason=MetaItemDeletion.Reason.UNMATCHED)
            | Q(goes_first=True)
            | (Q(reason=MetaItemDeletion.Reason.REPLACED) & Exists(successor_exists) & ~Exists(successor_not_synced))
        )
    )


def send_deletions(catalog: Catalog, *, first_only: bool = False) -> int:
    """Send DELETE for the ready queued items in one ``items_batch`` call; return how many were sent.

    The push pipeline calls this after each run; read-only catalogs are refused.
    ``first_only`` sends only the ids that must leave before their successors.
    """
    ensure_writable(catalog)
    if not catalog.sync_enabled or catalog.paused_reason or catalog.connection is None:
        return 0
    ready = deletions_ready(catalog)
    if first_only:
        ready = ready.filter(goes_first=True)
    batch = list(ready.order_by("pk")[:MAX_DELETES_PER_BATCH])
    if not batch:
        return 0
    requests = [{"method": "DELETE", "data": {"id": d.retailer_id}} for d in batch]
    client = GraphClient.for_connection(catalog.connection)
    try:
        response = client.post(
            f"{catalog.meta_catalog_id}/items_batch", {"item_type": "PRODUCT_ITEM", "requests": requests}
        )
    except GraphAPIError as exc:
        logger.warning("catalog %s: deleting %s old items failed with code %s", catalog.pk, len(batch), exc.code)
        if not exc.is_transient:
            MetaItemDeletion.objects.filter(pk__in=[d.pk for d in batch]).update(
                error=redact(exc.message or str(exc))[:500]
            )
        return 0
    handle = (response.get("handles") or [""])[0]
    rejected = {
        str(status.get("retailer_id")): "; ".join(e.get("message", "") for e in status.get("errors") or [])
        for status in response.get("validation_status") or []
        if status.get("errors")
    }
    now = timezone.now()
    sent = [d.pk for d in batch if d.retailer_id not in rejected]
    MetaItemDeletion.objects.filter(pk__in=sent).update(
        state=MetaItemDeletion.State.SENT, handle=handle[:255], sent_at=now, error=""
    )
    # Successors Meta refused while the old item was in the way get another go.
    gone_first = [d.retailer_id for d in batch if d.goes_first and d.retailer_id not in rejected]
    if gone_first:
        item_state.retry_meta_failures(Variant.objects.filter(catalog=catalog, previous_id__in=gone_first))
    for deletion in batch:
        if deletion.retailer_id in rejected:
            MetaItemDeletion.objects.filter(pk=deletion.pk).update(
                state=MetaItemDeletion.State.FAILED, error=redact(rejected[deletion.retailer_id])[:500]
            )
    return len(sent)


def send_due_deletions() -> int:
    """Send due deletions for every writable catalog that has some waiting; return how many were sent."""
    catalog_ids = (
        MetaItemDeletion.objects.waiting()
        .filter(catalog__sync_enabled=True, catalog__connection__isnull=False)
        .exclude(catalog__flow=Catalog.Flow.LINK)
        .values_list("catalog_id", flat=True)
        .distinct()
    )
    sent = 0
    for catalog in Catalog.objects.filter(pk__in=list(catalog_ids)).select_related("connection"):
        if deletions_ready(catalog).exists():
            sent += send_deletions(catalog)
    return sent
