"""Deleting Meta items Galantis replaced (variants scenario 3, ids that changed) or was told to remove.

Nothing here deletes an item on its own initiative: a replaced id goes once its
successor is in Meta (or first, when Meta refuses the successor while it exists), an
unmatched item only when a merchant explicitly chose so. Linked catalogs are refused.

A sent deletion is not assumed done: its ``items_batch`` handle is polled like every
other handle (``confirm_deletions``) until Meta's batch status says it finished
(DELETED, or FAILED with Meta's message); a handle Meta forgot, stopped, or did not
finish within ``HANDLE_TIMEOUT`` sends the deletion again (a DELETE is idempotent).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from catalog import item_state
from catalog.graph_clients import client_for
from catalog.meta.client import GraphClient
from catalog.meta.errors import AuthError, GraphAPIError, InvalidRequest, PermissionDenied, RateLimited
from catalog.models import Catalog, MetaItemDeletion, Variant
from galantis.logredact import redact

from .catalogs import ensure_writable

logger = logging.getLogger(__name__)

# Meta's items_batch limit.
MAX_DELETES_PER_BATCH = 5000
# A deletion handle Meta has not finished after this long is sent again.
HANDLE_TIMEOUT = timedelta(hours=1)
# Handles polled per catalog and run (each is one Graph call).
MAX_HANDLES_PER_RUN = 20
FINISHED = "finished"
GAVE_UP = frozenset({"error", "canceled", "cancelled"})


def queue_deletions(
    report, catalog: Catalog, retailer_ids: list[str], reason: str, user, goes_first: set[str] = frozenset()
) -> None:
    """Queue Meta item ids for deletion (idempotent); our own retailer ids are never queued."""
    # Never queue one of our own ids (an exact match elsewhere owns it).
    ours = set(
        Variant.objects.for_tenant(catalog.tenant_id)
        .filter(catalog=catalog, retailer_id__in=retailer_ids)
        .values_list("retailer_id", flat=True)
    )
    MetaItemDeletion.objects.bulk_create(
        [
            MetaItemDeletion(
                tenant_id=catalog.tenant_id,
                catalog=catalog,
                retailer_id=rid,
                reason=reason,
                report=report,
                chosen_by=user,
                goes_first=rid in goes_first,
            )
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
            Q(reason__in=(MetaItemDeletion.Reason.UNMATCHED, MetaItemDeletion.Reason.GHOST))
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
    client = client_for(catalog)
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


def _send_again(deletions: QuerySet[MetaItemDeletion], why: str) -> int:
    return deletions.update(state=MetaItemDeletion.State.WAITING, handle="", error=why[:500])


def confirm_deletions(catalog: Catalog, client: GraphClient | None = None) -> int:
    """Poll the handles of the catalog's sent deletions; return how many Meta settled (deleted or failed).

    Stops at an authorisation error or a rate limit (the next run goes on); a handle
    Meta cannot report on, stopped, or left unfinished past ``HANDLE_TIMEOUT`` sends its
    deletions again.
    """
    sent = MetaItemDeletion.objects.for_tenant(catalog.tenant_id).filter(
        catalog=catalog, state=MetaItemDeletion.State.SENT
    )
    # Sent before handles were kept: nothing to poll, so it goes again.
    _send_again(sent.filter(handle=""), "Sent without a handle to follow; sent again.")
    handles = list(sent.order_by("sent_at").values_list("handle", flat=True).distinct()[:MAX_HANDLES_PER_RUN])
    if not handles or catalog.connection is None:
        return 0
    client = client or client_for(catalog)
    settled = 0
    now = timezone.now()
    for handle in handles:
        rows = sent.filter(handle=handle)
        try:
            answer = client.get(
                f"{catalog.meta_catalog_id}/check_batch_request_status",
                handle=handle,
                load_ids_of_invalid_requests=True,
            )
        except (AuthError, PermissionDenied, RateLimited) as exc:
            logger.warning("catalog %s: deletion handles not polled now (%s)", catalog.pk, exc.code)
            break
        except InvalidRequest as exc:  # typically "the handle does not exist": Meta forgot it
            _send_again(rows, f"Meta could not report on this deletion ({redact(str(exc))}); sent again.")
            continue
        except GraphAPIError as exc:
            logger.warning("catalog %s: polling deletion handle failed with code %s", catalog.pk, exc.code)
            continue
        data = answer.get("data")
        status = data[0] if isinstance(data, list) and data else answer
        meta_status = str(status.get("status") or "").lower()
        if meta_status in GAVE_UP:
            _send_again(rows, f"Meta stopped the deletion batch ({meta_status}); sent again.")
        elif meta_status == FINISHED:
            rejected = _rejected(status)
            for retailer_id, message in rejected.items():
                settled += rows.filter(retailer_id=retailer_id).update(
                    state=MetaItemDeletion.State.FAILED, error=redact(message)[:500], confirmed_at=now
                )
            settled += rows.exclude(retailer_id__in=list(rejected)).update(
                state=MetaItemDeletion.State.DELETED, confirmed_at=now, error=""
            )
        elif rows.filter(sent_at__lt=now - HANDLE_TIMEOUT).exists():
            _send_again(rows, f"Meta had not finished the deletion after {HANDLE_TIMEOUT}; sent again.")
    return settled


def _rejected(status: dict) -> dict[str, str]:
    """Retailer id -> Meta's message for the deletions its batch status names as invalid."""
    out: dict[str, str] = {}
    for error in status.get("errors") or []:
        if isinstance(error, dict) and error.get("id"):
            out.setdefault(str(error["id"]), str(error.get("message") or "Meta refused the deletion."))
    for retailer_id in status.get("ids_of_invalid_requests") or []:
        out.setdefault(str(retailer_id), "Meta refused the deletion (no message in its sample).")
    return out


def send_due_deletions() -> int:
    """Confirm sent deletions, then send due ones, for every writable catalog with either; how many were sent."""
    catalog_ids = (
        MetaItemDeletion.objects.filter(state__in=(MetaItemDeletion.State.WAITING, MetaItemDeletion.State.SENT))
        .filter(catalog__sync_enabled=True, catalog__connection__isnull=False)
        .exclude(catalog__flow=Catalog.Flow.LINK)
        .values_list("catalog_id", flat=True)
        .distinct()
    )
    sent = 0
    for catalog in Catalog.objects.filter(pk__in=list(catalog_ids)).select_related("connection"):
        confirm_deletions(catalog)
        if deletions_ready(catalog).exists():
            sent += send_deletions(catalog)
    return sent
