"""Import reconciliation: what an existing Meta catalog holds versus the Shopify variants.

A report is built before anything is written to Meta, so the merchant sees what
enabling sync will change. Meta items queued for deletion (old ids replaced by our
retailer ids, or unmatched items the merchant explicitly chose to remove) live in
``MetaItemDeletion`` until the sync sends the DELETE.
"""

from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .tenancy import TenantOwned, TenantQuerySet


class ReconciliationReportQuerySet(TenantQuerySet):
    def latest_for(self, catalog) -> "ReconciliationReport | None":
        """The newest report of ``catalog`` (any state)."""
        return self.filter(catalog=catalog).order_by("-created_at", "-pk").first()


class ReconciliationReport(TenantOwned):
    """One comparison of a Meta catalog's items with the store's Shopify variants."""

    class Purpose(models.TextChoices):
        IMPORT = "import", _("Import (Galantis takes over)")
        LINK = "link", _("Link read-only (map only)")

    class State(models.TextChoices):
        RUNNING = "running", _("Reading the Meta catalog")
        READY = "ready", _("Ready for review")
        APPLYING = "applying", _("Enabling sync")
        APPLIED = "applied", _("Applied")
        FAILED = "failed", _("Failed")
        SUPERSEDED = "superseded", _("Superseded")

    catalog = models.ForeignKey("catalog.Catalog", on_delete=models.CASCADE, related_name="reports")
    meta_catalog_id = models.CharField(max_length=64)
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.IMPORT)
    state = models.CharField(max_length=12, choices=State.choices, default=State.RUNNING)
    meta_items_read = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    different = models.PositiveIntegerField(default=0)
    id_changed = models.PositiveIntegerField(default=0)
    meta_only = models.PositiveIntegerField(default=0)
    missing_in_meta = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The merchant's go: who enabled sync, and whether (and who) chose to delete
    # Meta items that have no Shopify variant. Never implied.
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    delete_unmatched = models.BooleanField(default=False)
    delete_unmatched_chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    delete_unmatched_chosen_via = models.CharField(max_length=64, blank=True)
    delete_unmatched_chosen_at = models.DateTimeField(null=True, blank=True)

    objects = ReconciliationReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "catalog", "-created_at"], name="report_tenant_catalog")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["running", "ready", "applying", "applied", "failed", "superseded"]),
                name="report_state_valid",
            ),
            # A deletion choice always says who made it.
            models.CheckConstraint(
                condition=models.Q(delete_unmatched=False)
                | ~models.Q(delete_unmatched_chosen_via="")
                | models.Q(delete_unmatched_chosen_by__isnull=False),
                name="report_delete_choice_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"Reconciliation of catalog {self.meta_catalog_id} ({self.get_state_display()})"

    @property
    def is_finished(self) -> bool:
        return self.state not in (self.State.RUNNING, self.State.APPLYING)

    @property
    def total_variants(self) -> int:
        return self.matched + self.different + self.id_changed + self.missing_in_meta

    def recount(self) -> None:
        """Recompute the per-kind counters from the rows with one grouped query."""
        counts = dict.fromkeys(ReconciliationRow.Kind.values, 0)
        for row in self.rows.order_by().values("kind").annotate(n=Count("pk")):
            counts[row["kind"]] = row["n"]
        self.matched = counts[ReconciliationRow.Kind.MATCHED]
        self.different = counts[ReconciliationRow.Kind.DIFFERENT]
        self.id_changed = counts[ReconciliationRow.Kind.ID_CHANGE]
        self.meta_only = counts[ReconciliationRow.Kind.META_ONLY]
        self.missing_in_meta = counts[ReconciliationRow.Kind.MISSING_IN_META]


class ReconciliationRowQuerySet(TenantQuerySet):
    def of_kind(self, kind: str) -> Self:
        return self.filter(kind=kind)


class ReconciliationRow(TenantOwned):
    """One line of a report: a Meta item, a Shopify variant, or both."""

    class Kind(models.TextChoices):
        MATCHED = "matched", _("Matched, identical")
        DIFFERENT = "different", _("Matched, with differences")
        ID_CHANGE = "id_change", _("Matched, Meta id differs from ours (previous_id)")
        META_ONLY = "meta_only", _("In Meta, no Shopify variant")
        MISSING_IN_META = "missing", _("Shopify variant missing in Meta")

    class Method(models.TextChoices):
        NONE = "", _("—")
        RETAILER_ID = "retailer_id", _("Retailer id")
        SKU = "sku", _("SKU")
        PRODUCT = "product", _("Product-level item (no variants in Meta)")
        TITLE = "title", _("Title and options")

    report = models.ForeignKey(ReconciliationReport, on_delete=models.CASCADE, related_name="rows")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    method = models.CharField(max_length=12, choices=Method.choices, blank=True)
    variant = models.ForeignKey("catalog.Variant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    meta_item_id = models.CharField(max_length=64, blank=True)
    meta_retailer_id = models.CharField(max_length=255, blank=True)
    meta_name = models.CharField(max_length=512, blank=True)
    # Meta's values of the compared fields, as read (Graph field names).
    meta_values = models.JSONField(default=dict, blank=True)
    # [{"field": "price", "ours": "19.99 USD", "meta": "$17.00"}, ...]
    differences = models.JSONField(default=list, blank=True)
    # Hash of our payload when compared: identical rows become SYNCED only if it still holds.
    our_hash = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=255, blank=True)

    objects = ReconciliationRowQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["report", "kind"], name="reconrow_report_kind"),
            models.Index(fields=["report", "variant"], name="reconrow_report_variant"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["matched", "different", "id_change", "meta_only", "missing"]),
                name="reconrow_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.meta_retailer_id or self.variant_id}"

    SHORT_LABELS = {
        Kind.MATCHED: ("ok", _("Identical")),
        Kind.DIFFERENT: ("warning", _("Differences")),
        Kind.ID_CHANGE: ("warning", _("Other id → previous_id")),
        Kind.META_ONLY: ("neutral", _("Only in Meta")),
        Kind.MISSING_IN_META: ("neutral", _("Missing in Meta")),
    }

    @property
    def badge(self) -> tuple[str, str]:
        """(CSS level, short label) for the report table."""
        return self.SHORT_LABELS[self.kind]


class MetaItemDeletionQuerySet(TenantQuerySet):
    def waiting(self) -> Self:
        return self.filter(state=MetaItemDeletion.State.WAITING)


class MetaItemDeletion(TenantOwned):
    """A Meta item Galantis must delete: an id we replaced, or an unmatched item the merchant chose to remove."""

    class Reason(models.TextChoices):
        REPLACED = "replaced", "Replaced by our retailer id (previous_id)"
        UNMATCHED = "unmatched", "No Shopify variant; merchant chose to delete"
        GHOST = "ghost", "Ghost found by the drift scan; staff chose to delete"

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        SENT = "sent", "Sent to Meta"  # its handle is polled until Meta finishes it
        DELETED = "deleted", _("Deleted in Meta (confirmed)")
        FAILED = "failed", _("Failed")

    catalog = models.ForeignKey("catalog.Catalog", on_delete=models.CASCADE, related_name="item_deletions")
    retailer_id = models.CharField(max_length=255)
    reason = models.CharField(max_length=10, choices=Reason.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.WAITING)
    report = models.ForeignKey(ReconciliationReport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The old id is also our item group id (a product-level item keyed by the Shopify
    # product id): Meta refuses the new variants while it exists (#10800), so it goes first.
    goes_first = models.BooleanField(default=False)
    handle = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True, help_text="When Meta's batch status said it was done.")

    objects = MetaItemDeletionQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["catalog", "retailer_id"], name="itemdeletion_unique_per_catalog"),
            models.CheckConstraint(
                condition=models.Q(reason__in=["replaced", "unmatched", "ghost"]), name="itemdeletion_reason_valid"
            ),
        ]
        indexes = [models.Index(fields=["catalog", "state"], name="itemdeletion_catalog_state")]

    def __str__(self) -> str:
        return f"Delete {self.retailer_id} ({self.get_reason_display()})"
