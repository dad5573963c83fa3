"""Operator-level sync runs (commands, admin): pick catalogs, dry-run, sync now, wait, report."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from catalog import item_state
from catalog.domain_errors import DomainError
from catalog.graph_clients import client_for
from catalog.meta.errors import AuthError, PermissionDenied
from catalog.models import Catalog, SyncBatch, Tenant, Variant
from galantis import logcontext

from . import confirm, feeds, pause, push, writes
from .claim import SKIP, batch_size_for, catalog_variants, mark_due_deletions, method_case
from .push_requests import request_push
from .run_report import CatalogRunReport

Kind = SyncBatch.Kind
MODES = ("batch", "replace_feed", "update_feed")
# Threads that drive shards in sync_now are named so (the bench counts their SQL too).
SHARD_THREAD_PREFIX = "sync-shards"
DRY_RUN_SAMPLE = 10


class NoCatalog(DomainError):
    """The tenant has no catalog (or not the one asked for)."""


def catalogs_for(tenant: Tenant, catalog_id: int | None = None) -> list[Catalog]:
    """The tenant's catalogs (or the one asked for); :class:`NoCatalog` when there is none."""
    catalogs = Catalog.objects.for_tenant(tenant).select_related("connection")
    if catalog_id is not None:
        catalogs = catalogs.filter(pk=catalog_id)
        if not catalogs.exists():
            raise NoCatalog(f"Tenant {tenant.slug!r} has no catalog with id {catalog_id}.")
    found = list(catalogs)
    if not found:
        raise NoCatalog(f"Tenant {tenant.slug!r} has no catalog yet (connect one with connect_catalog).")
    return found


def dry_run(catalog: Catalog) -> dict:
    """What a sync would send now, without calling Meta: counts per method and sample ids."""
    pending = catalog_variants(catalog).pending().annotate(method=method_case(catalog))
    counts = {row["method"] or "UPDATE": row["n"] for row in pending.values("method").annotate(n=Count("pk"))}
    samples = {
        label: list(
            pending.filter(method="" if label == "UPDATE" else label)
            .order_by("pk")
            .values_list("retailer_id", flat=True)[:DRY_RUN_SAMPLE]
        )
        for label in counts
        if label != SKIP
    }
    return {
        "catalog": catalog.pk,
        "name": catalog.name,
        "blocked": writes.write_blocker(catalog) or (f"paused: {catalog.paused_reason}" if catalog.pause_kind else ""),
        "would_send": {m: n for m, n in counts.items() if m != SKIP},
        "settled_without_call": counts.get(SKIP, 0),
        "samples": samples,
        "batch_size": batch_size_for(catalog),
    }


@dataclass
class SyncRun(CatalogRunReport):
    """The outcome of a sync run on one catalog."""

    mode: str
    batches: list[int] = field(default_factory=list)
    items: int = 0
    skipped: str = ""
    waited: bool = False
    timed_out: bool = False
    status: dict = field(default_factory=dict)


def _start(catalog: Catalog, mode: str, run: SyncRun) -> bool:
    """Send one round; False when nothing could be sent (blocked, paused or nothing to do)."""
    if mode == "batch":
        report = push.push_catalog(catalog, max_batches=max(catalog.shard_count, 1), prefer_feed=False)
        run.batches += report.batches
        run.items += report.items
        run.skipped = report.skipped_reason
        return bool(report.batches)
    kind = Kind.REPLACE_FEED if mode == "replace_feed" else Kind.UPDATE_FEED
    report = feeds.push_feeds(catalog, kind, force=True)
    run.batches += report.uploads
    run.items += report.rows
    run.skipped = report.skipped_reason
    return bool(report.uploads)


def in_flight(catalog: Catalog):
    return SyncBatch.objects.filter(catalog=catalog, state__in=SyncBatch.IN_FLIGHT_STATES)


@logcontext.for_catalog
def sync_now(catalog: Catalog, *, mode: str = "batch", wait: bool = False, timeout: float = 600) -> SyncRun:
    """Sync ``catalog`` now by ``mode``; with ``wait``, until Meta confirmed everything sent.

    Batch mode keeps pushing while pending items remain (one batch per shard in flight
    at a time); feed modes upload every shard once. A sharded catalog's shards are
    driven by parallel threads (see :func:`shard_groups`).
    """
    run = SyncRun(catalog.pk, mode)
    deadline = time.monotonic() + timeout
    groups = shard_groups(catalog) if mode == "batch" and wait else []
    if groups:
        run.waited = True
        drive_shards_in_parallel(catalog, groups, deadline, run)
        catalog.refresh_from_db()
    # Sequential rounds; after a parallel phase they only pick up what is left.
    sent_any = _start(catalog, mode, run)
    while wait and (sent_any or in_flight(catalog).exists()):
        run.waited = True
        if time.monotonic() > deadline:
            run.timed_out = True
            break
        confirm.confirm_catalog(catalog)
        catalog.refresh_from_db()
        sent_any = _start(catalog, mode, run) if mode == "batch" and not catalog.pause_kind else False
        if in_flight(catalog).exists():
            next_poll = in_flight(catalog).aggregate(at=Min("next_poll_at"))["at"]
            pause_s = (next_poll - timezone.now()).total_seconds() if next_poll else 0.5
            time.sleep(min(max(pause_s, 0.05), 5.0))
        if catalog.pause_kind and not in_flight(catalog).exists():
            break
    catalog.refresh_from_db()
    run.status = status(catalog)
    return run


def shard_groups(catalog: Catalog) -> list[list[int]]:
    """The shards each thread of a waiting batch sync drives ([]: no threads, one round at a time).

    Meta lets calls on disjoint shards run at once (docs/meta-ingestion-rules.md, "Large
    catalogs": "simultaneous replace feed or updates (also applies to Batch API) can happen
    between even and odd chunks"), and one batch in flight per shard stays the rule. While
    Meta ingests one shard's batch, another thread claims, builds and records the next
    shard's, instead of waiting. Not on SQLite: it has one writer at a time, the threads
    would only queue.
    """
    workers = min(settings.SYNC_PARALLEL_SHARDS, catalog.shard_count)
    if workers < 2 or connection.vendor == "sqlite":
        return []
    return [list(range(first, catalog.shard_count, workers)) for first in range(workers)]


def drive_shards_in_parallel(catalog: Catalog, groups: list[list[int]], deadline: float, run: SyncRun) -> None:
    """Run :func:`drive_shards` for each group in its own thread; re-raise the first failure."""
    lock = threading.Lock()
    failures: list[BaseException] = []

    def target(group: list[int]) -> None:
        try:
            drive_shards(catalog.pk, group, deadline, run, lock)
        except BaseException as error:  # noqa: BLE001 - handed to the calling thread
            failures.append(error)
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=target, args=(group,), name=f"{SHARD_THREAD_PREFIX}-{n}")
        for n, group in enumerate(groups)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def drive_shards(catalog_id: int, group: list[int], deadline: float, run: SyncRun, lock: threading.Lock) -> None:
    """Push a batch for the group's shards, wait for Meta's verdict, repeat until none is pending."""
    catalog = Catalog.objects.select_related("connection").get(pk=catalog_id)
    client = client_for(catalog)
    mine = in_flight(catalog).filter(shard__in=group)
    while time.monotonic() < deadline:
        report = push.push_catalog(catalog, max_batches=len(group), prefer_feed=False, client=client, only_shards=group)
        with lock:
            run.batches += report.batches
            run.items += report.items
            run.skipped = report.skipped_reason or run.skipped
        if report.skipped_reason.startswith("paused") or not (report.batches or mine.exists()):
            return
        while time.monotonic() < deadline:
            due = mine.filter(state=SyncBatch.State.SENT, next_poll_at__lte=timezone.now())
            try:
                for batch in due.order_by("next_poll_at", "pk"):
                    confirm.poll_batch(catalog, batch, client)
            except (AuthError, PermissionDenied):
                return  # the catalog is paused; the calling loop reports it
            left = mine.aggregate(n=Count("pk"), next_poll=Min("next_poll_at"))
            if not left["n"]:
                break
            # A batch claimed by another worker has no poll time yet: look again shortly.
            pause_s = (left["next_poll"] - timezone.now()).total_seconds() if left["next_poll"] else 0.5
            if pause_s > 0:
                time.sleep(min(max(pause_s, 0.05), 5.0))


def status(catalog: Catalog) -> dict:
    """One catalog's sync state for operators: counts, pause, in-flight work, last runs."""
    counts = catalog_variants(catalog).status_counts()
    failed_by_meta = catalog_variants(catalog).failed().exclude(failure_source=Variant.FailureSource.LOCAL).count()
    last = SyncBatch.objects.filter(catalog=catalog).order_by("-pk").first()
    return {
        "catalog": catalog.pk,
        "name": catalog.name,
        "meta_catalog_id": catalog.meta_catalog_id,
        "flow": catalog.flow,
        "sync_enabled": catalog.sync_enabled,
        "paused": catalog.pause_kind or None,
        "paused_reason": catalog.paused_reason,
        "paused_until": catalog.paused_until.isoformat() if catalog.paused_until else None,
        "counts": counts,
        "failed_by_meta": failed_by_meta,
        "failed_locally": counts[Variant.SyncStatus.FAILED] - failed_by_meta,
        "in_flight": in_flight(catalog).count(),
        "last_batch": str(last) if last else None,
        "last_sync_at": catalog.last_sync_at.isoformat() if catalog.last_sync_at else None,
        "last_replace_feed_at": catalog.last_replace_feed_at.isoformat() if catalog.last_replace_feed_at else None,
        "delta_method": catalog.effective_delta_method,
        # The stable contract: pending / synced / failed / excluded and Meta's verdict on the synced.
        **catalog_variants(catalog).health_counts(),
    }


def retry_failed(catalog: Catalog) -> int:
    """Send items Meta rejected again (after a fix on Meta's side); local failures stay."""
    return item_state.retry_meta_failures(
        catalog_variants(catalog), sources=(Variant.FailureSource.META_BATCH, Variant.FailureSource.META_FEED)
    )


# -- what staff do from any admin page (catalog admin actions, the diagnostics dashboard) ------------


def retry_rejected(catalog: Catalog) -> int:
    """Staff's "retry": the items Meta rejected go again, with a push requested now; how many."""
    if catalog.is_read_only:
        return 0
    retried = retry_failed(catalog)
    if retried:
        request_push(catalog.pk, now=True)
    return retried


def pause_by_staff(catalog: Catalog, user, reason: str = "") -> None:
    """Staff's "pause": nothing goes to Meta until someone resumes it; changes keep collecting as PENDING."""
    who = user.get_username() if user is not None else "staff"
    pause.pause(catalog, Catalog.PauseKind.MANUAL, f"{reason.strip() or 'Paused by staff'} ({who}).")


def resume_by_staff(catalog: Catalog) -> None:
    """Staff's "resume": any pause lifted and a push requested now (a read-only catalog is never pushed)."""
    pause.resume(catalog)
    if not catalog.is_read_only:
        request_push(catalog.pk, now=True)


def repush(variants) -> int:
    """Mark variants PENDING so the next push sends them again (not those in flight).

    Staff send an item again when Meta's copy looks wrong, so what Meta holds is not known:
    only a call that sends the whole item (the Batch API, a replace feed) settles it, never an
    update-only row, which leaves a field it does not fill as it was.
    """
    return item_state.mark_pending(variants, meta_copy_unknown=True)


def prepare(catalog: Catalog) -> None:
    """Housekeeping before a manual run: queue deletions past the grace period."""
    if not writes.write_blocker(catalog):
        mark_due_deletions(catalog)
