"""Catalogs and what hangs off them: commerce settings, pixels and events, product sets, usage."""

from __future__ import annotations

from django.db import models

from .accounts import Business
from .nodes import GraphNode, Kind


class ProductCatalog(GraphNode):
    """A Meta product catalog owned by a business."""

    KIND = Kind.CATALOG

    class Vertical(models.TextChoices):
        # facebook_business ProductCatalog.Vertical
        ADOPTABLE_PETS = "adoptable_pets"
        APPS_AND_SOFTWARE = "apps_and_software"
        ARTICLES_AND_PUBLICATIONS = "articles_and_publications"
        COMMERCE = "commerce"
        DESTINATIONS = "destinations"
        FLIGHTS = "flights"
        GENERIC = "generic"
        HOME_LISTINGS = "home_listings"
        HOTELS = "hotels"
        LOCAL_SERVICE_BUSINESSES = "local_service_businesses"
        MEDIA_TITLES = "media_titles"
        OFFER_ITEMS = "offer_items"
        OFFLINE_COMMERCE = "offline_commerce"
        SERVICES = "services"
        TRANSACTABLE_ITEMS = "transactable_items"
        VEHICLES = "vehicles"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="catalogs")
    name = models.CharField(max_length=255)
    vertical = models.CharField(max_length=32, choices=Vertical.choices, default=Vertical.COMMERCE)
    default_image_url = models.URLField(max_length=1000, blank=True)
    fallback_image_url = models.URLField(max_length=1000, blank=True)
    external_event_sources = models.ManyToManyField("sandbox.Pixel", blank=True, related_name="catalogs")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Meta catalog"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.fbid})"


class CommerceMerchantSettings(GraphNode):
    """Commerce settings of a catalog; ``cta`` says whether checkout happens on Meta."""

    KIND = Kind.COMMERCE_SETTINGS

    class Cta(models.TextChoices):
        ONSITE_CHECKOUT = "ONSITE_CHECKOUT", "Checkout on Facebook/Instagram"
        OFFSITE_LINK = "OFFSITE_LINK", "Link to the merchant's website"
        MESSAGE = "MESSAGE", "Message the business"

    class MerchantStatus(models.TextChoices):
        ENABLED = "ENABLED"
        EXTERNALLY_DISABLED = "EXTERNALLY_DISABLED"

    catalog = models.OneToOneField(ProductCatalog, on_delete=models.CASCADE, related_name="commerce_settings")
    display_name = models.CharField(max_length=255)
    cta = models.CharField(max_length=32, choices=Cta.choices, default=Cta.ONSITE_CHECKOUT)
    merchant_status = models.CharField(max_length=24, choices=MerchantStatus.choices, default=MerchantStatus.ENABLED)
    contact_email = models.EmailField(blank=True)

    class Meta:
        verbose_name = "commerce merchant settings"
        verbose_name_plural = "commerce merchant settings"

    def __str__(self) -> str:
        return f"{self.display_name} ({self.cta})"


class Pixel(GraphNode):
    """A Meta pixel (dataset): receives Conversions API events."""

    KIND = Kind.PIXEL

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="pixels")
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_fired_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.fbid})"


class ServerEvent(models.Model):
    """One Conversions API event; a repeat of (event_name, event_id) only bumps ``duplicates``."""

    pixel = models.ForeignKey(Pixel, on_delete=models.CASCADE, related_name="events")
    event_name = models.CharField(max_length=100)
    event_time = models.BigIntegerField()
    event_id = models.CharField(max_length=255, blank=True)
    action_source = models.CharField(max_length=32, blank=True)
    test_event_code = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    duplicates = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["pixel", "event_name", "event_id"],
                condition=~models.Q(event_id=""),
                name="sandbox_event_dedup",
            )
        ]
        indexes = [models.Index(fields=["pixel", "-received_at"], name="sandbox_event_pixel_recv")]

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id or '(no id)'}"


class ProductSet(GraphNode):
    """A product set: a saved filter over a catalog's items, optionally published to shops."""

    KIND = Kind.PRODUCT_SET

    catalog = models.ForeignKey(ProductCatalog, on_delete=models.CASCADE, related_name="product_sets")
    name = models.CharField(max_length=255)
    # The filter as parsed (Meta's product-set grammar); None means every item.
    filter = models.JSONField(null=True, blank=True)
    retailer_id = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    ordering_info = models.JSONField(default=list, blank=True)
    publish_to_shops = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Meta product set"
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        """Published to a shop: deleting needs allow_live_product_set_deletion."""
        return bool(self.publish_to_shops)


class UsageWindow(models.Model):
    """Calls per catalog, kind and hour: the source of ``X-Business-Use-Case-Usage``."""

    class UseCase(models.TextChoices):
        CATALOG_BATCH = "catalog_batch"
        CATALOG_MANAGEMENT = "catalog_management"

    catalog = models.ForeignKey(ProductCatalog, on_delete=models.CASCADE, related_name="usage_windows")
    use_case = models.CharField(max_length=24, choices=UseCase.choices)
    window_start = models.DateTimeField()
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["catalog", "use_case", "window_start"], name="sandbox_usage_window_unique")
        ]

    def __str__(self) -> str:
        return f"{self.use_case} {self.window_start:%H:%M}: {self.calls}"
