"""What Meta's onboarding (Facebook Business Extension) webhook told us, until a merchant decides."""

from django.conf import settings
from django.db import models

from .tenancy import TenantQuerySet


class MetaOnboarding(models.Model):
    """One catalog (and pixel) Meta's onboarding webhook announced; nothing is connected until confirmed.

    ``tenant`` is blank when the business matched no tenant (or more than one): such a row is
    visible to superusers only (``TenantQuerySet.for_user`` never returns a NULL tenant).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for the merchant"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"

    tenant = models.ForeignKey("catalog.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    business_id = models.CharField(max_length=64, blank=True)
    external_business_id = models.CharField(max_length=255, blank=True)
    meta_catalog_id = models.CharField(max_length=64, blank=True)
    pixel_id = models.CharField(max_length=64, blank=True)
    page_id = models.CharField(max_length=64, blank=True)
    entry_id = models.CharField(max_length=64, blank=True)
    entry_time = models.BigIntegerField(null=True, blank=True)
    # sha256 of "entry id : time : field : canonical JSON of the change": the same delivery twice is one row.
    dedup_key = models.CharField(max_length=64, unique=True, editable=False)
    body_sha256 = models.CharField(max_length=64, editable=False)
    match_note = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    received_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    catalog = models.ForeignKey(
        "catalog.Catalog",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The catalog the confirmed flow connected.",
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "state"], name="metaonboarding_tenant_state")]

    def __str__(self) -> str:
        return f"Meta onboarding: catalog {self.meta_catalog_id or '?'} of business {self.business_id or '?'}"
