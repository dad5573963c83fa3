"""Catalog of a sandbox shop: products, variants (with their inventory items), images, collections."""

from decimal import Decimal
from typing import Self

from django.db import models

from .. import ids
from .shops import Location, Shop


class ShopOwnedQuerySet(models.QuerySet):
    def for_shop(self, shop: Shop | int) -> Self:
        return self.filter(shop_id=getattr(shop, "pk", shop))


class Product(models.Model):
    """A Shopify product; `options` is kept inline as Shopify returns it ([{id,name,position,values}])."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        DRAFT = "DRAFT", "Draft"
        ARCHIVED = "ARCHIVED", "Archived"
        UNLISTED = "UNLISTED", "Unlisted"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    legacy_id = models.BigIntegerField()
    handle = models.CharField(max_length=255)
    title = models.CharField(max_length=512)
    description_html = models.TextField(blank=True)
    vendor = models.CharField(max_length=255, blank=True)
    product_type = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    tags = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=list, blank=True)
    template_suffix = models.CharField(max_length=64, blank=True, null=True)
    # Null = not published to the Online Store sales channel (onlineStoreUrl is then null too).
    published_at = models.DateTimeField(null=True, blank=True)
    # Standard Product Taxonomy category ("aa-1-13-8") and its full name; blank = none.
    category_id = models.CharField(max_length=64, blank=True)
    category_full_name = models.CharField(max_length=1000, blank=True)
    # Video media after the images, in order: [{"id", "url", "preview_url"}] (Video, VideoSource).
    videos = models.JSONField(default=list, blank=True)
    # Product metafields: [{"id", "namespace", "key", "value", "type"}].
    metafields = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = "shop product"
        ordering = ["shop", "legacy_id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "legacy_id"], name="sbx_product_shop_legacy"),
            models.UniqueConstraint(fields=["shop", "handle"], name="sbx_product_shop_handle"),
        ]
        indexes = [
            # keyset pagination for sortKey UPDATED_AT / TITLE / CREATED_AT
            models.Index(fields=["shop", "updated_at", "legacy_id"], name="sbx_product_updated"),
            models.Index(fields=["shop", "title", "legacy_id"], name="sbx_product_title"),
            models.Index(fields=["shop", "created_at", "legacy_id"], name="sbx_product_created"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def gid(self) -> str:
        return ids.gid("Product", self.legacy_id)

    def online_store_url(self) -> str | None:
        """Storefront URL on the primary domain; null when not on the Online Store (as Shopify)."""
        if self.published_at is None or self.status != Product.Status.ACTIVE:
            return None
        return f"{self.shop.storefront_url}/products/{self.handle}"


class ProductImage(models.Model):
    """An image of a product, exposed both as ProductImage/Image and as MediaImage."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    legacy_id = models.BigIntegerField()
    media_legacy_id = models.BigIntegerField()
    position = models.PositiveIntegerField(default=1)
    url = models.URLField(max_length=1000)
    alt_text = models.CharField(max_length=512, blank=True, null=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["product", "position", "legacy_id"]
        constraints = [models.UniqueConstraint(fields=["shop", "legacy_id"], name="sbx_image_shop_legacy")]
        indexes = [models.Index(fields=["product", "position"], name="sbx_image_product_pos")]

    def __str__(self) -> str:
        return self.url

    @property
    def gid(self) -> str:
        return ids.gid("ProductImage", self.legacy_id)

    @property
    def media_gid(self) -> str:
        return ids.gid("MediaImage", self.media_legacy_id)


class Variant(models.Model):
    """A product variant together with its 1:1 inventory item (tracked, sku)."""

    class InventoryPolicy(models.TextChoices):
        DENY = "DENY", "Stop selling at zero"
        CONTINUE = "CONTINUE", "Keep selling"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    legacy_id = models.BigIntegerField()
    title = models.CharField(max_length=512, default="Default Title")
    sku = models.CharField(max_length=255, null=True, blank=True)
    barcode = models.CharField(max_length=255, null=True, blank=True)
    price = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    compare_at_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    position = models.PositiveIntegerField(default=1)
    inventory_policy = models.CharField(max_length=8, choices=InventoryPolicy.choices, default=InventoryPolicy.DENY)
    option1 = models.CharField(max_length=255, null=True, blank=True)
    option2 = models.CharField(max_length=255, null=True, blank=True)
    option3 = models.CharField(max_length=255, null=True, blank=True)
    image = models.ForeignKey(ProductImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    taxable = models.BooleanField(default=True)
    # The inventory item (InventoryItem in GraphQL) shares the variant's row.
    inventory_item_legacy_id = models.BigIntegerField()
    tracked = models.BooleanField(default=True)
    requires_shipping = models.BooleanField(default=True)
    # Sum of this item's inventory levels, kept in step by the inventory services.
    inventory_quantity = models.IntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = "shop variant"
        ordering = ["product", "position", "legacy_id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "legacy_id"], name="sbx_variant_shop_legacy"),
            models.UniqueConstraint(fields=["shop", "inventory_item_legacy_id"], name="sbx_variant_shop_item"),
        ]
        indexes = [
            models.Index(fields=["product", "position"], name="sbx_variant_product_pos"),
            models.Index(fields=["shop", "sku"], name="sbx_variant_shop_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}/{self.title}"

    @property
    def gid(self) -> str:
        return ids.gid("ProductVariant", self.legacy_id)

    @property
    def inventory_item_gid(self) -> str:
        return ids.gid("InventoryItem", self.inventory_item_legacy_id)

    def selected_options(self, product: Product) -> list[dict[str, str]]:
        """[{name, value}] pairing the product's option names with this variant's values."""
        values = [self.option1, self.option2, self.option3]
        out = []
        for index, option in enumerate(product.options[:3]):
            if values[index] is not None:
                out.append({"name": option["name"], "value": values[index]})
        return out

    def available_for_sale(self, product: Product) -> bool:
        if product.status != Product.Status.ACTIVE or product.published_at is None:
            return False
        return (
            not self.tracked or self.inventory_quantity > 0 or self.inventory_policy == Variant.InventoryPolicy.CONTINUE
        )


class InventoryLevel(models.Model):
    """Quantity of one inventory item (variant) at one location."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="inventory_levels")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="inventory_levels")
    available = models.IntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["variant", "location"]
        constraints = [models.UniqueConstraint(fields=["variant", "location"], name="sbx_level_variant_location")]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id}: {self.available}"


class Collection(models.Model):
    """A custom collection (rules null) or a smart one (rules kept, membership recomputed)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="collections")
    legacy_id = models.BigIntegerField()
    handle = models.CharField(max_length=255)
    title = models.CharField(max_length=255)
    description_html = models.TextField(blank=True)
    sort_order = models.CharField(max_length=24, default="MANUAL")
    # [{"column": "TAG", "relation": "EQUALS", "condition": "summer"}]; null for a custom collection.
    rules = models.JSONField(null=True, blank=True)
    applied_disjunctively = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    products = models.ManyToManyField(Product, through="CollectionProduct", related_name="collections")

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = "shop collection"
        ordering = ["shop", "legacy_id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "legacy_id"], name="sbx_collection_shop_legacy"),
            models.UniqueConstraint(fields=["shop", "handle"], name="sbx_collection_shop_handle"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def gid(self) -> str:
        return ids.gid("Collection", self.legacy_id)

    @property
    def is_smart(self) -> bool:
        return self.rules is not None


class CollectionProduct(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="memberships")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="memberships")
    position = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["collection", "position", "product"]
        constraints = [models.UniqueConstraint(fields=["collection", "product"], name="sbx_collection_product_unique")]

    def __str__(self) -> str:
        return f"{self.collection_id}:{self.product_id}"
