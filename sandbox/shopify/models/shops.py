"""A sandbox shop: its identity, credentials, rate-limit bucket and webhook behaviour."""

import secrets
from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import F

from .. import ids


def new_access_token() -> str:
    """An Admin API token shaped like Shopify's (``shpat_`` + 32 hex)."""
    return "shpat_" + secrets.token_hex(16)


def new_client_secret() -> str:
    """An app client secret (signs webhooks), shaped like Shopify's (``shpss_`` + 32 hex)."""
    return "shpss_" + secrets.token_hex(16)


class ShopQuerySet(models.QuerySet):
    def installed(self) -> Self:
        return self.filter(uninstalled_at__isnull=True)


class Shop(models.Model):
    """One ``*.myshopify.com`` shop with the one app installed on it."""

    class WebhookMode(models.TextChoices):
        IMMEDIATE = "immediate", "Deliver right after each change"
        HELD = "held", "Hold until flushed (to reorder or delay)"

    domain = models.CharField(max_length=255, unique=True, help_text="e.g. demo.myshopify.com")
    name = models.CharField(max_length=255)
    email = models.EmailField(blank=True)
    currency_code = models.CharField(max_length=3, default="USD")
    primary_domain_url = models.URLField(max_length=500, help_text="Storefront URL, e.g. https://demo.example")
    iana_timezone = models.CharField(max_length=64, default="America/New_York")
    # Credentials of the single installed app (sandbox only: kept in clear on purpose).
    access_token = models.CharField(max_length=64, unique=True, default=new_access_token)
    webhook_secret = models.CharField(max_length=64, default=new_client_secret, help_text="App client secret")
    # Start of this shop's block of serial numbers (see ids.py) and the next free serial.
    id_base = models.BigIntegerField(unique=True)
    next_serial = models.BigIntegerField(default=1)
    # Cost-based rate limit: a leaky bucket per app and shop.
    bucket_size = models.FloatField(default=1000.0)
    restore_rate = models.FloatField(default=50.0, help_text="Points restored per second")
    bucket_available = models.FloatField(default=1000.0)
    bucket_checked_at = models.DateTimeField(null=True, blank=True)
    # Webhook behaviour on demand (defaults: well-behaved).
    webhook_mode = models.CharField(max_length=12, choices=WebhookMode.choices, default=WebhookMode.IMMEDIATE)
    webhook_duplicates = models.PositiveSmallIntegerField(
        default=0, help_text="Extra copies sent of every delivery (same webhook and event ids)"
    )
    webhook_shuffle = models.BooleanField(default=False, help_text="Deliver held webhooks out of order")
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopQuerySet.as_manager()

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    @classmethod
    def next_id_base(cls) -> int:
        """A fresh block of serials for a new shop."""
        last = cls.objects.aggregate(m=models.Max("id_base"))["m"]
        return (last + ids.SHOP_ID_BLOCK) if last is not None else ids.SHOP_ID_BLOCK

    def allocate_serials(self, count: int) -> int:
        """Reserve `count` serial numbers atomically; return the first one."""
        Shop.objects.filter(pk=self.pk).update(next_serial=F("next_serial") + count)
        self.refresh_from_db(fields=["next_serial"])
        return self.next_serial - count

    def legacy_id(self, type_name: str, serial: int) -> int:
        return ids.legacy_id(type_name, self.id_base, serial)

    def new_legacy_id(self, type_name: str) -> int:
        """One fresh numeric id of the given resource type."""
        return self.legacy_id(type_name, self.allocate_serials(1))

    @property
    def admin_url(self) -> str:
        """Admin API base without version, as stored on ``catalog.ShopifyStore.admin_url``."""
        return f"{settings.SITE_URL}/sandbox/shopify/{self.domain}/admin/api"

    @property
    def storefront_url(self) -> str:
        return self.primary_domain_url.rstrip("/")


class Location(models.Model):
    """A place that stocks inventory; every shop has at least one."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="locations")
    legacy_id = models.BigIntegerField()
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["legacy_id"]
        constraints = [models.UniqueConstraint(fields=["shop", "legacy_id"], name="sbx_location_shop_legacy")]

    def __str__(self) -> str:
        return self.name

    @property
    def gid(self) -> str:
        return ids.gid("Location", self.legacy_id)
