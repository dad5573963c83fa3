"""Sync admin actions: they enqueue work (or flip a flag) and return; Meta is never called inline.

All are operational work (``Action.OPERATE``): owners and staff of the rows' tenants.
"""

from django.contrib import admin, messages
from django.db.models import QuerySet

from catalog.models import Catalog, SyncBatch
from catalog.sync import run
from catalog.sync.push_requests import request_push
from galantis.queue import enqueue


def _writable(modeladmin, request, queryset: QuerySet[Catalog]) -> list[Catalog]:
    catalogs = list(queryset.select_related("connection"))
    read_only = [c for c in catalogs if c.is_read_only]
    if read_only:
        modeladmin.message_user(
            request,
            f"Skipped {len(read_only)} read-only (linked) catalog(s): they are never written.",
            messages.WARNING,
        )
    return [c for c in catalogs if not c.is_read_only]


@admin.action(description="Push pending changes to Meta now", permissions=["operate"])
def push_now(modeladmin, request, queryset):
    catalogs = _writable(modeladmin, request, queryset)
    for catalog in catalogs:
        request_push(catalog.pk, now=True)
    modeladmin.message_user(request, f"Queued a push for {len(catalogs)} catalog(s).", messages.SUCCESS)


@admin.action(description="Full resync (replace feed of the whole catalog)", permissions=["operate"])
def full_resync(modeladmin, request, queryset):
    catalogs = _writable(modeladmin, request, queryset)
    for catalog in catalogs:
        enqueue("catalog.tasks.push_feed", catalog.pk, SyncBatch.Kind.REPLACE_FEED, True, group=f"feed:{catalog.pk}")
    modeladmin.message_user(
        request, f"Queued a full replace-feed upload for {len(catalogs)} catalog(s).", messages.SUCCESS
    )


@admin.action(description="Retry items Meta rejected", permissions=["operate"])
def retry_failed(modeladmin, request, queryset):
    total = sum(run.retry_rejected(catalog) for catalog in _writable(modeladmin, request, queryset))
    modeladmin.message_user(request, f"{total} rejected item(s) queued to be sent again.", messages.SUCCESS)


@admin.action(description="Pause sync", permissions=["operate"])
def pause_sync(modeladmin, request, queryset):
    catalogs = list(queryset)
    for catalog in catalogs:
        run.pause_by_staff(catalog, request.user, "Paused in the admin")
    modeladmin.message_user(
        request, f"Paused {len(catalogs)} catalog(s); changes keep collecting as PENDING.", messages.SUCCESS
    )


@admin.action(description="Resume sync", permissions=["operate"])
def resume_sync(modeladmin, request, queryset):
    catalogs = _writable(modeladmin, request, queryset)
    for catalog in catalogs:
        run.resume_by_staff(catalog)
    modeladmin.message_user(request, f"Resumed {len(catalogs)} catalog(s) and queued a push.", messages.SUCCESS)


@admin.action(description="Send selected variants to Meta again", permissions=["operate"])
def repush_variants(modeladmin, request, queryset):
    count = run.repush(queryset)
    catalog_ids = set(queryset.exclude(catalog=None).values_list("catalog_id", flat=True).distinct())
    for catalog_id in catalog_ids:
        request_push(catalog_id, now=True)
    modeladmin.message_user(request, f"{count} variant(s) marked PENDING; a push is queued.", messages.SUCCESS)
