"""Shopify ingestion records: import runs and the raw webhook events we received."""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from django.db import connections, models, router
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
    def insert_new(self, event: WebhookEvent) -> int | None:
        """Insert ``event`` unless its delivery is already stored; return its new pk, else None.

        One ``INSERT ... ON CONFLICT (store_id, dedup_key) DO NOTHING RETURNING id`` (SQLite
        3.35+ and PostgreSQL) instead of a duplicate check, a transaction and an insert: the
        unique constraint decides, so concurrent retries of one delivery store it once. The
        statement is built once per process; values go through each field's own adaptation
        (``auto_now_add``, JSON, bytes), as ``save()`` would.
        """
        using = router.db_for_write(WebhookEvent)
        connection = connections[using]
        fields = [f for f in WebhookEvent._meta.concrete_fields if not f.primary_key]
        params = [f.get_db_prep_save(f.pre_save(event, add=True), connection) for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(_insert_new_sql(connection, fields), params)
            row = cursor.fetchone()
        if row is None:
            return None
        event.pk = row[0]
        event._state.adding, event._state.db = False, using
        return event.pk

    def claim(self, pks: list[int], *, stale_claim: timedelta = timedelta(minutes=10)) -> list[int]:
        """Take these events for processing unless done or held by a live worker; return the pks taken.

        One ``UPDATE ... RETURNING id`` (SQLite 3.35+ and PostgreSQL) per call: concurrent
        drains each get a disjoint share, as with one claim per event (the row lock makes
        the second UPDATE re-check the state the first one set).
        """
        if not pks:
            return []
        connection = connections[router.db_for_write(WebhookEvent)]
        q = connection.ops.quote_name
        now = timezone.now()
        claimed_at = WebhookEvent._meta.get_field("claimed_at")
        stamp = claimed_at.get_db_prep_save(now, connection)
        cutoff = claimed_at.get_db_prep_value(now - stale_claim, connection)
        received, processing = WebhookEvent.State.RECEIVED, WebhookEvent.State.PROCESSING
        taken: list[int] = []
        with connection.cursor() as cursor:
            for start in range(0, len(pks), 500):  # SQLite's 999 parameters
                chunk = pks[start : start + 500]
                cursor.execute(
                    f"UPDATE {q(WebhookEvent._meta.db_table)} SET {q('state')} = %s, {q('claimed_at')} = %s, "
                    f"{q('attempts')} = {q('attempts')} + 1 WHERE {q('id')} IN ({', '.join(['%s'] * len(chunk))}) "
                    f"AND ({q('state')} = %s OR ({q('state')} = %s AND {q('claimed_at')} <= %s)) RETURNING {q('id')}",
                    [processing, stamp, *chunk, received, processing, cutoff],
                )
                taken.extend(row[0] for row in cursor.fetchall())
        return sorted(taken)

    def waiting(self, store_id: int) -> Self:
        """Received events of one store never attempted yet, in arrival order (a drain's work).

        Events a transient failure put back (attempts > 0) are left to the sweeper, so a
        stream of deliveries during a Shopify outage does not burn their retries in seconds.
        """
        return self.filter(store_id=store_id, state=WebhookEvent.State.RECEIVED, attempts=0).order_by("pk")

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


_INSERT_SQL: dict[str, str] = {}


def _insert_new_sql(connection, fields) -> str:
    sql = _INSERT_SQL.get(connection.vendor)
    if sql is None:
        q = connection.ops.quote_name
        table = q(WebhookEvent._meta.db_table)
        columns = ", ".join(q(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        sql = (
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
            f"ON CONFLICT ({q('store_id')}, {q('dedup_key')}) DO NOTHING RETURNING {q('id')}"
        )
        _INSERT_SQL[connection.vendor] = sql
    return sql


class WebhookDrainQuerySet(TenantQuerySet):
    def request(self, store_id: int, tenant_id: int) -> bool:
        """Ask for a drain of the store's events; True if none was pending (queue one then).

        One ``INSERT ... ON CONFLICT DO NOTHING``: while a drain is queued and not started,
        every further delivery finds the row and queues nothing.
        """
        connection = connections[router.db_for_write(WebhookDrain)]
        q = connection.ops.quote_name
        now = WebhookDrain._meta.get_field("requested_at").get_db_prep_save(timezone.now(), connection)
        table, columns = q(WebhookDrain._meta.db_table), ", ".join(map(q, ("tenant_id", "store_id", "requested_at")))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s) "
                f"ON CONFLICT ({q('store_id')}) DO NOTHING RETURNING {q('id')}",
                [tenant_id, store_id, now],
            )
            return cursor.fetchone() is not None


class WebhookDrain(TenantOwned):
    """A drain of one store's received webhook events is queued and has not started yet.

    Receiving a delivery stores its event and, only when no such row exists, inserts one
    and queues one drain task: a burst of deliveries costs one task, not one per event.
    The drain deletes the row *before* reading the events, so a delivery stored after that
    read queues the next drain (no lost wake-up). A row whose task was lost is removed by
    the sweeper, which also processes the events themselves.
    """

    store = models.OneToOneField("catalog.ShopifyStore", on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField()

    objects = WebhookDrainQuerySet.as_manager()

    def __str__(self) -> str:
        return f"drain of store {self.store_id} requested {self.requested_at:%Y-%m-%d %H:%M:%S}"


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
