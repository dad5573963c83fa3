"""Product feeds, their upload sessions and the errors an upload produced."""

from __future__ import annotations

from django.db import models

from .catalogs import ProductCatalog
from .nodes import GraphNode, Kind


class ProductFeed(GraphNode):
    """A feed of a catalog; uploads to it replace (or, with update_only, update) its items."""

    KIND = Kind.FEED

    class Delimiter(models.TextChoices):
        AUTODETECT = "AUTODETECT"
        BAR = "BAR"
        COMMA = "COMMA"
        SEMICOLON = "SEMICOLON"
        TAB = "TAB"
        TILDE = "TILDE"

    class Encoding(models.TextChoices):
        AUTODETECT = "AUTODETECT"
        LATIN1 = "LATIN1"
        UTF16BE = "UTF16BE"
        UTF16LE = "UTF16LE"
        UTF32BE = "UTF32BE"
        UTF32LE = "UTF32LE"
        UTF8 = "UTF8"

    class IngestionSourceType(models.TextChoices):
        PRIMARY = "primary_feed"
        SUPPLEMENTARY = "supplementary_feed"

    catalog = models.ForeignKey(ProductCatalog, on_delete=models.CASCADE, related_name="feeds")
    name = models.CharField(max_length=255)
    schedule = models.JSONField(null=True, blank=True)
    update_schedule = models.JSONField(null=True, blank=True)
    delimiter = models.CharField(max_length=16, choices=Delimiter.choices, default=Delimiter.AUTODETECT)
    encoding = models.CharField(max_length=16, choices=Encoding.choices, default=Encoding.AUTODETECT)
    quoted_fields_mode = models.CharField(max_length=16, default="AUTODETECT")
    default_currency = models.CharField(max_length=3, blank=True)
    deletion_enabled = models.BooleanField(default=True)
    file_name = models.CharField(max_length=255, blank=True)
    ingestion_source_type = models.CharField(
        max_length=24, choices=IngestionSourceType.choices, default=IngestionSourceType.PRIMARY
    )
    country = models.CharField(max_length=8, blank=True)
    item_sub_type = models.CharField(max_length=48, blank=True)
    feed_type = models.CharField(max_length=32, default="PRODUCTS")
    created_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.fbid})"


class FeedUpload(GraphNode):
    """One upload session; ``end_time`` stays empty until it has been processed."""

    KIND = Kind.UPLOAD

    class InputMethod(models.TextChoices):
        GOOGLE_SHEETS = "Google Sheets Fetch"
        MANUAL = "Manual Upload"
        REUPLOAD = "Reupload Last File"
        SERVER_FETCH = "Server Fetch"
        USER_SERVER_FETCH = "User initiated server fetch"

    feed = models.ForeignKey(ProductFeed, on_delete=models.CASCADE, related_name="uploads")
    start_time = models.DateTimeField(auto_now_add=True)
    end_time = models.DateTimeField(null=True, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    input_method = models.CharField(max_length=32, choices=InputMethod.choices, default=InputMethod.MANUAL)
    update_only = models.BooleanField(default=False)
    # Where the uploaded (or fetched) file was streamed to, under MEDIA_ROOT.
    file_path = models.CharField(max_length=500, blank=True)
    fetch_error = models.TextField(blank=True)
    process_after = models.DateTimeField()
    # Processing runs in time-boxed slices (one per touch of the catalog, as Meta's work
    # would go on in the background): when it started, who holds the current slice until
    # when, and where the next slice resumes (a text-file position) and at which row.
    claimed_at = models.DateTimeField(null=True, blank=True)
    slice_lease_until = models.DateTimeField(null=True, blank=True)
    resume_position = models.CharField(max_length=64, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    num_detected_items = models.PositiveIntegerField(default=0)
    num_persisted_items = models.PositiveIntegerField(default=0)
    num_deleted_items = models.PositiveIntegerField(default=0)
    num_invalid_items = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        kind = "update" if self.update_only else "replace"
        return f"{kind} upload {self.fbid} of {self.feed.name}"

    @property
    def is_processed(self) -> bool:
        return self.end_time is not None


class FeedUploadError(GraphNode):
    """One kind of problem in an upload, with how often it occurred and sample rows."""

    KIND = Kind.UPLOAD_ERROR

    class Severity(models.TextChoices):
        FATAL = "fatal"
        WARNING = "warning"

    upload = models.ForeignKey(FeedUpload, on_delete=models.CASCADE, related_name="errors")
    error_type = models.CharField(max_length=64)
    summary = models.CharField(max_length=500)
    description = models.TextField()
    severity = models.CharField(max_length=8, choices=Severity.choices)
    # What ?error_priority= matches: HIGH for fatal errors, MEDIUM / LOW for warnings.
    error_priority = models.CharField(max_length=8, default="HIGH")
    total_count = models.PositiveIntegerField(default=0)
    # [{"retailer_id": ..., "row_number": ...}] (first few rows only, as Meta does).
    samples = models.JSONField(default=list, blank=True)
    affected_surfaces = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.severity}: {self.summary} ×{self.total_count}"
