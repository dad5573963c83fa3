"""Bulk operations (``bulkOperationRunQuery``) and where their JSONL result is written."""

import secrets

from django.db import models

from .. import ids
from .shops import Shop


def new_download_token() -> str:
    return secrets.token_urlsafe(24)


class BulkOperation(models.Model):
    class Status(models.TextChoices):
        CREATED = "CREATED", "Created"
        RUNNING = "RUNNING", "Running"
        COMPLETED = "COMPLETED", "Completed"
        CANCELING = "CANCELING", "Canceling"
        CANCELED = "CANCELED", "Canceled"
        FAILED = "FAILED", "Failed"
        EXPIRED = "EXPIRED", "Expired"

    class Type(models.TextChoices):
        QUERY = "QUERY", "Query"
        MUTATION = "MUTATION", "Mutation"

    class ErrorCode(models.TextChoices):
        ACCESS_DENIED = "ACCESS_DENIED", "Access denied"
        INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR", "Internal server error"
        TIMEOUT = "TIMEOUT", "Timeout"

    ACTIVE_STATUSES = (Status.CREATED, Status.RUNNING, Status.CANCELING)

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="bulk_operations")
    legacy_id = models.BigIntegerField()
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.QUERY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    query = models.TextField()
    api_version = models.CharField(max_length=16)
    error_code = models.CharField(max_length=24, choices=ErrorCode.choices, blank=True)
    object_count = models.BigIntegerField(default=0)
    root_object_count = models.BigIntegerField(default=0)
    file_size = models.BigIntegerField(null=True, blank=True)
    # Where the JSONL is written (relative to MEDIA_ROOT) and the secret in its download URL.
    file_name = models.CharField(max_length=255, blank=True)
    download_token = models.CharField(max_length=64, default=new_download_token, unique=True)
    # Resume point of a run done in slices: the last root object's primary key written so far.
    resume_after_pk = models.BigIntegerField(default=0)
    # One poller at a time writes the next slice (a lease, so concurrent polls never double-write).
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["shop", "legacy_id"], name="sbx_bulk_shop_legacy")]
        indexes = [models.Index(fields=["shop", "type", "status"], name="sbx_bulk_shop_status")]

    def __str__(self) -> str:
        return f"{self.gid} {self.status}"

    @property
    def gid(self) -> str:
        return ids.gid("BulkOperation", self.legacy_id)
