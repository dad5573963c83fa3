"""Error taxonomy, item and catalog issues, poll runs and health snapshots."""

from __future__ import annotations

from typing import Self

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Catalog, TenantOwned, TenantQuerySet

OPEN = Q(resolved_at__isnull=True)


class Priority(models.TextChoices):
    HIGH = "HIGH", _("High")
    MEDIUM = "MEDIUM", _("Medium")
    LOW = "LOW", _("Low")


# Sort order of priorities (TextChoices sort alphabetically, which puts LOW before MEDIUM).
PRIORITY_RANK = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


def _translated(text: str) -> str:
    """``text`` in the active language when the message files know it (never gettext(""): the catalog header)."""
    return gettext(text) if text else text


class ErrorType(models.Model):
    """One kind of problem: a Meta ErrorType, one of our local checks, or an integration failure.

    Our wording (title, description, fix) is what merchants read; Meta's own texts are
    kept beside it (``meta_*``), refreshed from item errors and the catalog's
    ``diagnostics`` edge, and shown when we have no wording of our own.
    """

    class Source(models.TextChoices):
        META = "meta", "Meta"
        LOCAL = "local", "Local validation"
        INTEGRATION = "integration", "Integration"

    class FixLocation(models.TextChoices):
        SHOPIFY_PRODUCT = "shopify_product", "Shopify admin: product"
        SHOPIFY_SETTINGS = "shopify_settings", "Shopify admin: settings"
        GALANTIS_PRODUCT = "galantis_product", "Galantis product page (Meta-only fields)"
        APP_SETTINGS = "app_settings", "Settings → WhatsApp Connection"
        COMMERCE_MANAGER = "commerce_manager", "Meta Commerce Manager"
        META_HELP = "meta_help", "Meta help"
        AUTOMATIC = "automatic", "Nothing to do (automatic)"

    code = models.CharField(max_length=100, unique=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.META)
    category = models.CharField(max_length=32, blank=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    fix = models.TextField(blank=True)
    fix_location = models.CharField(max_length=24, choices=FixLocation.choices, default=FixLocation.META_HELP)
    help_url = models.URLField(max_length=500, blank=True)
    # True for the values of the installed SDK's ProductItem.ErrorType (plus our own types).
    known = models.BooleanField(default=False)
    meta_title = models.CharField(max_length=500, blank=True)
    meta_description = models.TextField(blank=True)
    meta_call_to_action = models.TextField(blank=True)
    meta_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(priority__in=["HIGH", "MEDIUM", "LOW"]), name="errortype_priority"),
            models.CheckConstraint(condition=Q(source__in=["meta", "local", "integration"]), name="errortype_source"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.display_title})"

    # Our own wording is stored in English (diagnostics/error_catalog.py marks it with gettext_noop)
    # and translated when shown; Meta's texts and the SDK codes' humanized titles stay as they are.
    @property
    def display_title(self) -> str:
        return _translated(self.title) or self.meta_title or self.code

    @property
    def display_description(self) -> str:
        return _translated(self.description) or self.meta_description

    @property
    def display_fix(self) -> str:
        return _translated(self.fix) or self.meta_call_to_action


class IssueQuerySet(TenantQuerySet):
    def open(self) -> Self:
        return self.filter(resolved_at__isnull=True)

    def for_catalog(self, catalog: Catalog | int) -> Self:
        return self.filter(catalog_id=getattr(catalog, "pk", catalog))


class IssueSource(models.TextChoices):
    LOCAL_VALIDATION = "local_validation", _("Local validation")
    BATCH = "batch", _("Batch upload")
    FEED = "feed", _("Feed upload")
    DIAGNOSTICS_POLL = "diagnostics_poll", _("Meta diagnostics")
    INTEGRATION = "integration", _("Integration")


class Issue(TenantOwned):
    """A problem open from ``first_seen`` until its source stops reporting it (``resolved_at``)."""

    Source = IssueSource

    source = models.CharField(max_length=20, choices=IssueSource.choices)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = IssueQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-last_seen", "pk"]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class ItemIssue(Issue):
    """A problem with one variant (one Meta item), open until its source stops reporting it."""

    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="item_issues")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="issues")
    error_type = models.ForeignKey(ErrorType, on_delete=models.PROTECT, related_name="item_issues")
    # Meta decides priority per item (issue severity and item importance), so it is the issue's.
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    # Meta's text for this item (or ours for local checks).
    message = models.TextField(blank=True)
    # Where it was reported: "batch 12 line 3", "feed upload 991 row 10", ...
    reference = models.CharField(max_length=200, blank=True)

    class Meta(Issue.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "error_type", "source"], condition=OPEN, name="itemissue_one_open_per_source"
            ),
            models.CheckConstraint(condition=Q(priority__in=["HIGH", "MEDIUM", "LOW"]), name="itemissue_priority"),
            models.CheckConstraint(
                condition=Q(source__in=["local_validation", "batch", "feed", "diagnostics_poll"]),
                name="itemissue_source",
            ),
        ]
        indexes = [
            # Top errors: grouped counts of open issues per tenant / per catalog.
            models.Index(fields=["tenant", "error_type", "priority"], condition=OPEN, name="itemissue_tenant_top"),
            models.Index(fields=["catalog", "error_type", "priority"], condition=OPEN, name="itemissue_catalog_top"),
            # Drill-down from an error type to its items, keyset-paginated by variant.
            models.Index(fields=["tenant", "error_type", "variant"], condition=OPEN, name="itemissue_type_items"),
            # Resolution sweeps per catalog and source.
            models.Index(fields=["catalog", "source", "variant"], condition=OPEN, name="itemissue_catalog_source"),
            # Item view history (resolved issues of a variant).
            models.Index(fields=["variant", "-last_seen"], name="itemissue_variant_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.error_type.code} on variant {self.variant_id} ({self.source})"


class CatalogIssue(Issue):
    """A problem with the whole catalog: token, permission, rate limit, outage, diagnostics groups."""

    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="catalog_issues")
    error_type = models.ForeignKey(ErrorType, on_delete=models.PROTECT, related_name="catalog_issues")
    # Tells apart open issues of one type (diagnostics group error code, feed upload id...).
    key = models.CharField(max_length=200, blank=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.HIGH)
    title = models.CharField(max_length=500, blank=True)
    message = models.TextField(blank=True)
    affected_items = models.PositiveIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta(Issue.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["catalog", "error_type", "key"], condition=OPEN, name="catalogissue_one_open_per_key"
            ),
            models.CheckConstraint(condition=Q(priority__in=["HIGH", "MEDIUM", "LOW"]), name="catalogissue_priority"),
        ]
        indexes = [
            models.Index(fields=["tenant", "catalog"], condition=OPEN, name="catalogissue_open"),
            models.Index(fields=["catalog", "-last_seen"], name="catalogissue_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.error_type.code} on {self.catalog_id}"

    @property
    def display_title(self) -> str:
        return _translated(self.title) or self.error_type.display_title

    @property
    def message_is_metas(self) -> bool:
        """True when ``message`` quotes Meta: its diagnostics, a feed upload, or a Graph error it answered.

        A mirrored sync pause carries our reason, and a call that never reached Meta our
        own words ("Could not reach the Graph API"): those are not Meta's.
        """
        if self.source in (IssueSource.DIAGNOSTICS_POLL, IssueSource.FEED):
            return True
        details = self.details if isinstance(self.details, dict) else {}
        return "pause_kind" not in details and bool(details.get("code") or details.get("http_status"))


class HealthSnapshot(TenantOwned):
    """Counts of one catalog at one moment (hourly, and after a sync) for the trend charts.

    The variant counts are ``health_counts()``'s: ``pending`` / ``synced`` / ``failed``
    leave out the variants not to be live (``excluded``); ``live`` + ``not_visible`` +
    ``in_review`` == ``synced``; ``rejected`` is part of ``not_visible``. ``open_*`` are
    variants with an open problem of that priority.
    """

    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="health_snapshots")
    taken_at = models.DateTimeField()
    pending = models.PositiveIntegerField(default=0)
    synced = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    live = models.PositiveIntegerField(default=0)
    not_visible = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    in_review = models.PositiveIntegerField(default=0)
    excluded = models.PositiveIntegerField(default=0)
    open_high = models.PositiveIntegerField(default=0)
    open_medium = models.PositiveIntegerField(default=0)
    open_low = models.PositiveIntegerField(default=0)
    catalog_issues = models.PositiveIntegerField(default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-taken_at"]
        get_latest_by = "taken_at"
        indexes = [
            models.Index(fields=["catalog", "taken_at"], name="snapshot_catalog_taken"),
            models.Index(fields=["tenant", "taken_at"], name="snapshot_tenant_taken"),
        ]

    def __str__(self) -> str:
        return f"{self.catalog_id} @ {self.taken_at:%Y-%m-%d %H:%M}"

    @property
    def total(self) -> int:
        return self.pending + self.synced + self.failed + self.excluded


class DiagnosticsRunQuerySet(TenantQuerySet):
    def succeeded(self) -> Self:
        return self.filter(status=DiagnosticsRun.Status.OK)


class DiagnosticsRun(TenantOwned):
    """One poll of Meta's diagnostics (or harvest of sync results) for one catalog.

    The latest successful run is what "last checked at" shows: when Meta cannot be
    reached the page says so instead of showing stale numbers as green.
    """

    class Kind(models.TextChoices):
        POLL = "poll", "Diagnostics poll"
        ITEMS = "items", "Item check (page view)"
        SYNC_RESULTS = "sync_results", "Sync results"
        CATALOG_DIAGNOSTICS = "catalog_diagnostics", "Catalog diagnostics"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"

    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="diagnostics_runs")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.POLL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    scope = models.CharField(max_length=200, blank=True, help_text="Priorities / error type polled.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    items_seen = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    # Sync results harvested up to here (SyncBatch.finished_at).
    watermark = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)

    objects = DiagnosticsRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        indexes = [
            models.Index(fields=["catalog", "kind", "-started_at"], name="diagrun_catalog_kind"),
            models.Index(fields=["started_at"], name="diagrun_started"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.catalog_id} at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class CatalogHealth(Catalog):
    """Catalogs as seen by the staff sync dashboard (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "catalog health"
        verbose_name_plural = "sync dashboard"


class ItemIssueVersion(models.Model):
    """How many statements changed a catalog's item issues: its issues' version.

    Written only by the database's triggers on ``diagnostics_itemissue`` (migration 0003,
    SQL in ``diagnostics/problem_memo.py``); the version is the sum of ``n`` over the
    slots, so it only grows. On PostgreSQL each connection adds to its own ``slot`` (its
    backend pid), so two writers never wait for one row; folding keeps the sum.
    """

    catalog_id = models.BigIntegerField()
    slot = models.IntegerField(default=0)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["catalog_id", "slot"], name="itemissueversion_unique")]

    def __str__(self) -> str:
        return f"catalog {self.catalog_id} slot {self.slot}: {self.n}"


class ProblemMemo(models.Model):
    """The health page's problem counts for one view of a tenant's catalogs, at one issues version.

    ``COUNT(DISTINCT variant_id)`` over the open issues costs ~70 ms at a million variants;
    it is computed again only when a statement changed those catalogs' issues.
    """

    key = models.CharField(max_length=255, unique=True)
    version = models.CharField(max_length=255)
    payload = models.JSONField()
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key} at {self.version}"
