"""Shopify ingestion records: import runs and the raw webhook events we received."""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from django.db import models
from django.utils import timezone

from .tenancy import TenantOwned, TenantQuerySet


class ImportRunQuerySet(TenantQuerySet):
    def active(self) -> Self:
        return self.filter(state__in=ImportRun.ACTIVE_STATES)


class ImportRun(TenantOwned):
    """One import of a store's catalog from the Admin API, with live counts for progress."""

    class Mode(models.TextChoices):
        PAGED = "paged", "Paged GraphQL"
        BULK = "bulk", "Bulk operation (JSONL)"
        INCREMENTAL = "incremental", "Incremental (updated since last import)"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        COMMAND = "command", "manage.py shopify_import"
        TASK = "task", "Task"
        SCHEDULE = "schedule", "Reconciliation schedule"
        ADMIN = "admin", "Admin"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    store = models.ForeignKey("catalog.ShopifyStore", on_delete=models.CASCADE, related_name="import_runs")
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.PAGED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.COMMAND)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # Incremental runs fetch products updated after this instant (with a safety overlap).
    updated_since = models.DateTimeField(null=True, blank=True)
    bulk_operation_id = models.CharField(max_length=100, blank=True)
    # Expected number of products (productsCount / bulk rootObjectCount), for the progress bar.
    products_total = models.PositiveIntegerField(null=True, blank=True)
    products_seen = models.PositiveIntegerField(default=0)
    variants_seen = models.PositiveIntegerField(default=0)
    products_created = models.PositiveIntegerField(default=0)
    products_updated = models.PositiveIntegerField(default=0)
    variants_created = models.PositiveIntegerField(default=0)
    variants_updated = models.PositiveIntegerField(default=0)
    # Variants whose Meta payload changed (now PENDING, FAILED, or back to SYNCED).
    variants_changed = models.PositiveIntegerField(default=0)
    products_removed = models.PositiveIntegerField(default=0)
    variants_removed = models.PositiveIntegerField(default=0)
    collections_seen = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched with every batch: a RUNNING run whose heartbeat is old died with its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = ImportRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two imports of one store at once would race on the same rows.
            models.UniqueConstraint(
                fields=["store"],
                condition=models.Q(state__in=["queued", "running"]),
                name="importrun_one_active_per_store",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="importrun_tenant_created"),
            models.Index(fields=["store", "state", "-created_at"], name="importrun_store_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} import #{self.pk} of {self.store_id} ({self.state})"

    @property
    def progress_percent(self) -> int | None:
        if self.state == self.State.SUCCEEDED:
            return 100
        if not self.products_total:
            return None
        return min(99, int(100 * self.products_seen / self.products_total))

    @property
    def duration(self) -> timedelta | None:
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class WebhookEventQuerySet(TenantQuerySet):
    def unprocessed(self, *, older_than: timedelta = timedelta(0), stale_claim: timedelta = timedelta(minutes=10)):
        """Events a worker should (re)process: never picked up, or claimed by a worker that died."""
        now = timezone.now()
        return self.filter(
            models.Q(state=WebhookEvent.State.RECEIVED, received_at__lte=now - older_than)
            | models.Q(state=WebhookEvent.State.PROCESSING, claimed_at__lte=now - stale_claim)
        )


class WebhookEvent(TenantOwned):
    """A webhook delivery as received (raw body kept), de-duplicated, processed by a task."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"

    store = models.ForeignKey("catalog.ShopifyStore", on_delete=models.CASCADE, related_name="webhook_events")
    topic = models.CharField(max_length=100)
    # X-Shopify-Event-Id (same underlying event => duplicate) and X-Shopify-Webhook-Id
    # (same on every retry of one delivery); dedup_key is the first present.
    event_id = models.CharField(max_length=100, blank=True)
    webhook_id = models.CharField(max_length=100, blank=True)
    dedup_key = models.CharField(max_length=100)
    api_version = models.CharField(max_length=16, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    # Raw bytes exactly as signed (kept for inspection and reprocessing).
    body = models.BinaryField()
    headers = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    # Why it failed or was ignored, or what processing did.
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["store", "dedup_key"], name="webhookevent_unique_delivery"),
            models.CheckConstraint(condition=~models.Q(dedup_key=""), name="webhookevent_dedup_key_set"),
        ]
        indexes = [
            models.Index(fields=["state", "received_at"], name="webhookevent_state_received"),
            models.Index(fields=["tenant", "-received_at"], name="webhookevent_tenant_received"),
            models.Index(fields=["store", "topic", "-received_at"], name="webhookevent_store_topic"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} from {self.store_id} ({self.state})"

    @property
    def body_text(self) -> str:
        return bytes(self.body).decode("utf-8", errors="replace")


class ProductTombstone(TenantOwned):
    """A product deleted in Shopify before we ever stored it (its delete overtook its create).

    Webhooks arrive in any order: without this row, the late ``products/create`` of a
    product already deleted would bring it back. Kept a week (Shopify retries for 4 hours
    and delays by a day at most), then swept.
    """

    store = models.ForeignKey("catalog.ShopifyStore", on_delete=models.CASCADE, related_name="product_tombstones")
    shopify_product_id = models.BigIntegerField()
    deleted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "shopify_product_id"], name="producttombstone_unique"),
        ]
        indexes = [models.Index(fields=["deleted_at"], name="producttombstone_deleted")]

    def __str__(self) -> str:
        return f"product {self.shopify_product_id} deleted {self.deleted_at:%Y-%m-%d %H:%M}"
