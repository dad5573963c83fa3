"""One Batch API call or feed upload, with its handle, state, counts and timings."""

from datetime import timedelta
from typing import Self

from django.db import models

from .tenancy import TenantOwned, TenantQuerySet


class SyncBatchQuerySet(TenantQuerySet):
    def in_flight(self) -> Self:
        return self.filter(state__in=SyncBatch.IN_FLIGHT_STATES)

    def move(self, batch_pk: int, *, expected: tuple[str, ...] | None = None, **fields) -> bool:
        """Write ``fields`` to one batch only if it is still in one of the ``expected`` states.

        Every transition out of an in-flight state goes through here: a late worker (its
        claim timed out, the sweeper released it) finds the row moved on and changes
        nothing, instead of flipping a batch someone else already ended. False then.
        """
        expected = expected or SyncBatch.IN_FLIGHT_STATES
        return bool(self.filter(pk=batch_pk, state__in=expected).update(**fields))


class CatalogFeed(TenantOwned):
    """A Meta product feed (one per shard) that replace and update uploads go to."""

    catalog = models.ForeignKey("catalog.Catalog", on_delete=models.CASCADE, related_name="feeds")
    shard = models.PositiveSmallIntegerField(default=0)
    meta_feed_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    # When the last replace / update upload of this shard was sent (None: due now).
    last_replace_at = models.DateTimeField(null=True, blank=True)
    last_update_at = models.DateTimeField(null=True, blank=True)
    # After a re-shard, items may have moved here from another shard's feed: this shard's
    # next snapshot goes update-only (it adopts its items, deletes nothing), and no shard of the
    # catalog deletes by omission until every shard has adopted (catalog.sync.sharding).
    adopting = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["catalog", "shard"]
        constraints = [
            models.UniqueConstraint(fields=["catalog", "shard"], name="catalogfeed_one_per_shard"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.meta_feed_id})"


class SyncBatch(TenantOwned):
    class Kind(models.TextChoices):
        ITEMS_BATCH = "items_batch", "Batch API (items_batch)"
        REPLACE_FEED = "replace_feed", "Replace feed"
        UPDATE_FEED = "update_feed", "Update feed"
        # Held only inside the transaction that changes a catalog's shard count (never committed).
        RESHARD = "reshard", "Re-shard lock"

    class State(models.TextChoices):
        CLAIMED = "claimed", "Claimed (building request)"
        SENT = "sent", "Sent, waiting for Meta"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"
        TIMED_OUT = "timed_out", "Timed out (retried)"

    IN_FLIGHT_STATES = (State.CLAIMED, State.SENT)

    catalog = models.ForeignKey("catalog.Catalog", on_delete=models.CASCADE, related_name="batches")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ITEMS_BATCH)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CLAIMED)
    shard = models.PositiveSmallIntegerField(default=0)
    # Batch handle (items_batch) or upload session id (feeds).
    handle = models.CharField(max_length=255, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    error_message = models.TextField(blank=True)
    synced_count = models.PositiveIntegerField(default=0)
    # Items that changed while in flight and stay PENDING for the next batch.
    stale_count = models.PositiveIntegerField(default=0)
    deleted_count = models.PositiveIntegerField(default=0)
    feed = models.ForeignKey(
        "catalog.CatalogFeed", on_delete=models.SET_NULL, null=True, blank=True, related_name="uploads"
    )
    # Meta's own status of the handle / upload ("finished", ...), and upload counters.
    # Not a variant's push status (Variant.meta_status): what Meta calls the handle or upload now.
    handle_status = models.CharField(max_length=32, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Refreshed while a worker builds the request: a stale heartbeat means the worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    poll_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Freshness: when the oldest change this Batch API call carries was requested (its
    # push request's ``pending_since``); sent_at / finished_at minus it are the samples
    # the health page's p95 reads (catalog.sync.freshness).
    changed_at = models.DateTimeField(null=True, blank=True)
    # A volatile-first call (the hourly budget is tight): only price, sale price,
    # availability and quantity were sent, at this claim time; the items stay PENDING
    # and the rest follows by feed (catalog.sync.volatile).
    volatile_claimed_at = models.DateTimeField(null=True, blank=True)

    objects = SyncBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "sync batches"
        constraints = [
            # Batches of one shard never overlap in time: one in-flight batch per shard.
            models.UniqueConstraint(
                fields=["catalog", "shard"],
                condition=models.Q(state__in=["claimed", "sent"]),
                name="syncbatch_one_in_flight_per_shard",
            ),
            # Meta's items_batch limit; feeds carry the whole catalog.
            models.CheckConstraint(
                condition=~models.Q(kind="items_batch") | models.Q(item_count__lte=5000),
                name="syncbatch_items_batch_max_5000",
            ),
        ]
        indexes = [
            models.Index(fields=["catalog", "state"], name="syncbatch_catalog_state"),
            models.Index(fields=["tenant", "-created_at"], name="syncbatch_tenant_created"),
            models.Index(fields=["state", "next_poll_at"], name="syncbatch_state_next_poll"),
            # Calls this hour and the freshness of the last hour, per catalog (a few hundred rows).
            models.Index(fields=["catalog", "sent_at"], name="syncbatch_catalog_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"

    @property
    def duration(self) -> timedelta | None:
        """Time from claim to Meta's final answer."""
        return (self.finished_at - self.created_at) if self.finished_at else None
