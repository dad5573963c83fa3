"""Staff actions on a catalog: retry failed items, pause and resume sync. No Meta call here."""

from __future__ import annotations

import importlib

from django.db import transaction
from django.utils import timezone

from catalog.items import refresh_variants
from catalog.models import Catalog, Variant
from galantis.queue import enqueue

# Variants reset per UPDATE: bounded so a million failures never make one huge statement.
RETRY_CHUNK = 2000
# The sync engine's push entry point, nudged after a retry (the periodic sweep finds the work anyway).
PUSH_TASK = "catalog.tasks.push_catalog"


def retry_failed_variants(catalog: Catalog) -> int:
    """Make the catalog's FAILED variants PENDING again; those that still fail local checks stay FAILED.

    The payload hash is cleared so ``refresh_variants`` recomputes status from scratch.
    Returns how many are PENDING now.
    """
    retried = 0
    last_pk = 0
    base = Variant.objects.filter(catalog_id=catalog.pk, meta_status=Variant.SyncStatus.FAILED).order_by("pk")
    while ids := list(base.filter(pk__gt=last_pk).values_list("pk", flat=True)[:RETRY_CHUNK]):
        last_pk = ids[-1]
        Variant.objects.filter(pk__in=ids).update(payload_hash="", updated_at=timezone.now())
        refresh_variants(Variant.objects.filter(pk__in=ids))
        retried += Variant.objects.filter(pk__in=ids, meta_status=Variant.SyncStatus.PENDING).count()
    if retried:
        nudge_push(catalog.pk)
    return retried


def nudge_push(catalog_id: int) -> bool:
    """Queue the sync engine's push for the catalog when it provides one; True if queued."""
    module_name, _, func = PUSH_TASK.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    if not hasattr(module, func):
        return False
    enqueue(PUSH_TASK, catalog_id, group=f"push:{catalog_id}")
    return True


@transaction.atomic
def pause_catalog(catalog: Catalog, reason: str) -> None:
    """Stop syncing the catalog, with a reason the merchant and staff see."""
    Catalog.objects.filter(pk=catalog.pk).update(
        sync_enabled=False, paused_reason=reason[:1000], updated_at=timezone.now()
    )


@transaction.atomic
def resume_catalog(catalog: Catalog) -> None:
    """Sync the catalog again; pending changes go out on the next push."""
    Catalog.objects.filter(pk=catalog.pk).update(sync_enabled=True, paused_reason="", updated_at=timezone.now())
    transaction.on_commit(lambda: nudge_push(catalog.pk))
