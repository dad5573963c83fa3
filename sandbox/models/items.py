"""Catalog items, item groups and Batch API sessions."""

from __future__ import annotations

from django.db import models

from .catalogs import ProductCatalog
from .nodes import GraphNode, Kind


class ProductGroup(GraphNode):
    """An item group (``item_group_id``): the variants of one product."""

    KIND = Kind.PRODUCT_GROUP

    catalog = models.ForeignKey(ProductCatalog, on_delete=models.CASCADE, related_name="product_groups")
    retailer_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["catalog", "retailer_id"], name="sandbox_group_unique_retailer_id")
        ]

    def __str__(self) -> str:
        return self.retailer_id


class ProductItemQuerySet(models.QuerySet):
    def with_error(self, priority: str | None = None, error_type: str | None = None) -> ProductItemQuerySet:
        """Items carrying a diagnostics error of this priority and/or type."""
        if priority and error_type:
            return self.filter(error_keys__contains=f"|{priority}:{error_type}|")
        if priority:
            return self.filter(error_keys__contains=f"|{priority}:")
        if error_type:
            return self.filter(error_keys__contains=f":{error_type}|")
        return self


class ProductItem(GraphNode):
    """One catalog item. ``data`` keeps the item in items_batch field names; the
    columns beside it are denormalised copies for filters, ordering and the admin."""

    KIND = Kind.ITEM

    class ReviewStatus(models.TextChoices):
        # facebook_business ProductItem.ReviewStatus
        APPROVED = "approved"
        OUTDATED = "outdated"
        PENDING = "pending"
        REJECTED = "rejected"

    catalog = models.ForeignKey(ProductCatalog, on_delete=models.CASCADE, related_name="items")
    retailer_id = models.CharField(max_length=100)
    group = models.ForeignKey(ProductGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="items")
    item_group_id = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict)
    title = models.CharField(max_length=255, blank=True)
    availability = models.CharField(max_length=32, blank=True)
    condition = models.CharField(max_length=32, blank=True)
    brand = models.CharField(max_length=255, blank=True)
    product_type = models.CharField(max_length=1000, blank=True)
    visibility = models.CharField(max_length=16, default="published")
    currency = models.CharField(max_length=3, blank=True)
    # Prices in minor units (what product-set filters compare).
    price_amount = models.BigIntegerField(null=True, blank=True)
    sale_price_amount = models.BigIntegerField(null=True, blank=True)
    review_status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    # What the (simulated, asynchronous) review decides once review_due_at has passed.
    review_outcome = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.APPROVED)
    review_due_at = models.DateTimeField(null=True, blank=True)
    image_fetch_status = models.CharField(max_length=16, default="FETCHED")
    # ProductItemError objects found by the asynchronous item checks.
    errors = models.JSONField(default=list, blank=True)
    # "|HIGH:IMAGE_FETCH_FAILED|LOW:...|" so error_priority / error_type filter in SQL.
    error_keys = models.TextField(blank=True, default="")
    feed = models.ForeignKey(
        "sandbox.ProductFeed", on_delete=models.SET_NULL, null=True, blank=True, related_name="items"
    )
    # The last feed upload that listed this item (a replace upload deletes the others).
    seen_in_upload = models.BigIntegerField(null=True, blank=True)
    # When an additional review was requested (POST /{catalog}/additional_reviews): once per item.
    additional_review_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductItemQuerySet.as_manager()

    class Meta:
        verbose_name = "Meta item"
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["catalog", "retailer_id"], name="sandbox_item_unique_retailer_id")
        ]
        indexes = [
            models.Index(fields=["catalog", "review_status"], name="sandbox_item_review"),
            models.Index(fields=["catalog", "item_group_id"], name="sandbox_item_group"),
        ]

    def __str__(self) -> str:
        return f"{self.retailer_id}: {self.title}"


class ItemsBatch(models.Model):
    """One ``items_batch`` call: its handle, raw requests and, once processed, the outcome."""

    class Status(models.TextChoices):
        # Lowercase, as Meta's check_batch_request_status reports them.
        DISPATCHED = "dispatched", "Dispatched (queued)"
        STARTED = "started", "Started"
        FINISHED = "finished", "Finished"
        ERROR = "error", "Error"
        CANCELED = "canceled", "Canceled"

    OPEN_STATUSES = (Status.DISPATCHED, Status.STARTED)

    catalog = models.ForeignKey(ProductCatalog, on_delete=models.CASCADE, related_name="batches")
    token = models.ForeignKey("sandbox.AccessToken", on_delete=models.SET_NULL, null=True, blank=True)
    handle = models.CharField(max_length=128, unique=True)
    item_type = models.CharField(max_length=32, default="PRODUCT_ITEM")
    allow_upsert = models.BooleanField(default=True)
    requests = models.JSONField(default=list)
    request_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DISPATCHED)
    process_after = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Every issue found: [{"line", "id", "message", "priority"}]; the API shows samples.
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    ids_of_invalid_requests = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    num_upserted = models.PositiveIntegerField(default=0)
    num_deleted = models.PositiveIntegerField(default=0)
    poll_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "items batches"
        indexes = [models.Index(fields=["catalog", "status"], name="sandbox_batch_catalog_status")]

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.request_count} requests, {self.status})"


class AdditionalReviewCall(models.Model):
    """One call to ``POST /{catalog}/additional_reviews``: Meta allows 10 a day per catalog."""

    catalog = models.ForeignKey(ProductCatalog, on_delete=models.CASCADE, related_name="additional_review_calls")
    item_ids = models.JSONField(default=list)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["catalog", "created_at"], name="sandbox_addreview_day")]

    def __str__(self) -> str:
        return f"{len(self.item_ids)} item(s) of catalog {self.catalog_id}"
