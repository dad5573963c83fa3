"""Webhook subscriptions of the installed app and the log of every delivery attempt."""

import uuid

from django.db import models

from .. import ids
from .shops import Shop


class WebhookSubscription(models.Model):
    """A shop-specific subscription made with ``webhookSubscriptionCreate``."""

    class Format(models.TextChoices):
        JSON = "JSON", "JSON"
        XML = "XML", "XML"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    legacy_id = models.BigIntegerField()
    topic = models.CharField(max_length=64, help_text="GraphQL enum, e.g. PRODUCTS_UPDATE")
    callback_url = models.URLField(max_length=1000)
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.JSON)
    include_fields = models.JSONField(default=list, blank=True)
    api_version = models.CharField(max_length=16)
    # Consecutive failed deliveries; Shopify deletes an Admin-API subscription after 8.
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shop", "legacy_id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "legacy_id"], name="sbx_webhook_sub_shop_legacy"),
            models.UniqueConstraint(fields=["shop", "topic", "callback_url"], name="sbx_webhook_sub_unique_address"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} -> {self.callback_url}"

    @property
    def gid(self) -> str:
        return ids.gid("WebhookSubscription", self.legacy_id)

    @property
    def topic_header(self) -> str:
        """``PRODUCTS_UPDATE`` -> ``products/update`` (the X-Shopify-Topic value)."""
        from ..topics import header_for

        return header_for(self.topic)


class WebhookDelivery(models.Model):
    """One webhook (one event to one subscription); attempts and the last outcome are recorded."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        RETRYING = "retrying", "Failed, will retry"
        FAILED = "failed", "Failed for good"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_deliveries")
    subscription = models.ForeignKey(
        WebhookSubscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    topic = models.CharField(max_length=64, help_text="Header form, e.g. products/update")
    callback_url = models.URLField(max_length=1000)
    api_version = models.CharField(max_length=16)
    # X-Shopify-Webhook-Id: the same on every retry of this delivery.
    webhook_id = models.UUIDField(default=uuid.uuid4, unique=True)
    # X-Shopify-Event-Id: the same for every webhook caused by one event.
    event_id = models.UUIDField(default=uuid.uuid4)
    triggered_at = models.DateTimeField()
    body = models.BinaryField()
    hmac = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["shop", "status", "next_attempt_at"], name="sbx_delivery_due")]

    def __str__(self) -> str:
        return f"{self.topic} {self.webhook_id} ({self.status})"
