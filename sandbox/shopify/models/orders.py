"""Minimal orders, enough to emit ``orders/paid`` for the Conversions API path."""

from django.db import models

from .. import ids
from .shops import Shop


class Order(models.Model):
    class FinancialStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="orders")
    legacy_id = models.BigIntegerField()
    number = models.PositiveIntegerField()
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    currency = models.CharField(max_length=3)
    total_price = models.DecimalField(max_digits=14, decimal_places=2)
    financial_status = models.CharField(max_length=10, choices=FinancialStatus.choices)
    # [{"id", "product_id", "variant_id", "sku", "title", "quantity", "price"}]
    line_items = models.JSONField(default=list)
    customer = models.JSONField(default=dict, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    browser_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    landing_site = models.CharField(max_length=1000, blank=True)
    processed_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["shop", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "legacy_id"], name="sbx_order_shop_legacy"),
            models.UniqueConstraint(fields=["shop", "number"], name="sbx_order_shop_number"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def gid(self) -> str:
        return ids.gid("Order", self.legacy_id)
