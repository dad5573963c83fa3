"""The Conversions API's durable queue (one row per event) and each tenant's settings."""

from __future__ import annotations

from typing import Self

from django.db import models
from django.utils import timezone

from catalog.models import TenantOwned, TenantQuerySet, TenantSettings


class ConversionsSettings(TenantSettings):
    """A tenant's Conversions API settings (one row per tenant, created on first use)."""

    enabled = models.BooleanField(
        default=True, help_text="Send a Purchase event to the catalog's pixel for every paid order."
    )
    test_event_code = models.CharField(
        max_length=64,
        blank=True,
        help_text="Events Manager → your pixel → Test events. While set, every event is sent as a test "
        "event (shown there, not used for ads); clear it when the set-up is checked.",
    )

    class Meta(TenantSettings.Meta):
        verbose_name = "Conversions API settings"
        verbose_name_plural = "Conversions API settings"


class ConversionEventQuerySet(TenantQuerySet):
    def due(self, now=None) -> Self:
        """Queued events whose next attempt has come."""
        return self.filter(state=ConversionEvent.State.QUEUED, next_attempt_at__lte=now or timezone.now())


class ConversionEvent(TenantOwned):
    """One server event for Meta's Conversions API, from a paid Shopify order.

    ``event_id`` is unique per tenant, so a redelivered or repeated ``orders/paid`` finds
    the row and adds nothing. ``payload`` is the event as it is sent (``user_data``
    hashed, client IP and user agent as they are); once Meta has it, ``user_data`` is
    cleared and only its key names are kept (``user_data_keys``).
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DEAD = "dead", "Dead"

    store = models.ForeignKey("catalog.ShopifyStore", on_delete=models.CASCADE, related_name="+")
    catalog = models.ForeignKey("catalog.Catalog", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    webhook_event_id = models.BigIntegerField(null=True, blank=True, help_text="The orders/paid delivery it came from.")
    shopify_order_id = models.BigIntegerField()
    order_name = models.CharField(max_length=64, blank=True)
    order_updated_at = models.DateTimeField(null=True, blank=True)
    event_name = models.CharField(max_length=50, default="Purchase")
    event_id = models.CharField(max_length=100)
    event_time = models.DateTimeField()
    value = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    user_data_keys = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    pixel_id = models.CharField(max_length=64, blank=True, help_text="The pixel it was sent to.")
    test_event_code = models.CharField(max_length=64, blank=True, help_text="Sent as a test event with this code.")
    fbtrace_id = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=32, blank=True)
    note = models.TextField(blank=True, help_text="What was noticed while building it (e.g. another currency).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConversionEventQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "event_name", "event_id"], name="conversionevent_unique_event_id"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["queued", "sending", "sent", "dead"]), name="conversionevent_state_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="conversionevent_due"),
            models.Index(fields=["tenant", "state", "-updated_at"], name="conversionevent_tenant_state"),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.order_name or self.event_id}"
