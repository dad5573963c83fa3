"""What the drift scan found in Meta: ghosts, drift and duplicate catalogs (catalog.sync.drift)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .tenancy import TenantOwned


class DriftScan(TenantOwned):
    """Where one catalog's read-back of Meta stands: a pass is spread over many short runs."""

    catalog = models.OneToOneField("catalog.Catalog", on_delete=models.CASCADE, related_name="drift_scan")
    # Graph ``after`` cursor of the pass in progress ("" at the start of a pass).
    cursor = models.CharField(max_length=512, blank=True)
    pass_started_at = models.DateTimeField(null=True, blank=True)
    last_pass_finished_at = models.DateTimeField(null=True, blank=True)
    items_read = models.PositiveIntegerField(default=0, help_text="Items read in the pass in progress.")
    last_pass_items = models.PositiveIntegerField(default=0)
    last_pass_calls = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0, help_text="Graph calls of the pass in progress.")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Drift scan of catalog {self.catalog_id}"


class DriftFinding(TenantOwned):
    """One item (or catalog) in Meta that disagrees with what Galantis last had accepted."""

    class Kind(models.TextChoices):
        GHOST = "ghost", "Ghost: in Meta, not sent by Galantis (or its product is gone)"
        DRIFT = "drift", "Drift: Meta's values differ from the last accepted payload"
        DUPLICATE_CATALOG = "duplicate", "Duplicate catalog holding this store's items"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        FIXED = "fixed", "Fixed"
        DISMISSED = "dismissed", "Dismissed by staff"

    catalog = models.ForeignKey("catalog.Catalog", on_delete=models.CASCADE, related_name="drift_findings")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    # The item's retailer id (for a duplicate catalog: that catalog's Meta id).
    retailer_id = models.CharField(max_length=255)
    meta_item_id = models.CharField(max_length=64, blank=True)
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    # [{"field", "ours", "meta"}] for drift; Meta's values (name, price, ...) for a ghost.
    differences = models.JSONField(default=list, blank=True)
    meta_values = models.JSONField(default=dict, blank=True)
    times_found = models.PositiveIntegerField(default=1)
    first_found_at = models.DateTimeField()
    last_found_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=255, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-last_found_at"]
        constraints = [
            models.UniqueConstraint(fields=["catalog", "kind", "retailer_id"], name="driftfinding_one_per_item"),
        ]
        indexes = [
            models.Index(fields=["catalog", "state", "kind"], name="driftfinding_catalog_state"),
            models.Index(fields=["tenant", "state"], name="driftfinding_tenant_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display().split(':')[0]} {self.retailer_id}"
