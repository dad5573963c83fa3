"""Admin pages to watch a sandbox shop (products, deliveries, bulk operations) and change it on demand.

The sandbox is a staff/developer tool with no tenants: these pages are for superusers only.
Actions go through `changes` / `webhooks` like the GraphQL API and the command do.
"""

from django.conf import settings
from django.contrib import admin, messages

from . import bulk, changes, throttle, webhooks
from .models import (
    BulkOperation,
    Collection,
    InventoryLevel,
    Order,
    Product,
    ProductImage,
    Shop,
    Variant,
    WebhookDelivery,
    WebhookSubscription,
)


class SandboxAdmin(admin.ModelAdmin):
    show_full_result_count = False  # no COUNT(*) on big sandbox tables

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False


class ShopAdmin(SandboxAdmin):
    list_display = (
        "domain",
        "name",
        "currency_code",
        "webhook_mode",
        "webhook_duplicates",
        "webhook_shuffle",
        "bucket_size",
        "restore_rate",
        "uninstalled_at",
    )
    search_fields = ("domain", "name")
    readonly_fields = (
        "access_token",
        "webhook_secret",
        "id_base",
        "next_serial",
        "bucket_available",
        "bucket_checked_at",
        "created_at",
    )
    actions = ("deliver_webhooks", "random_changes", "add_products", "refill_bucket", "uninstall")

    @admin.action(description="Deliver held and due webhooks now")
    def deliver_webhooks(self, request, queryset):
        for shop in queryset:
            result = webhooks.flush(shop)
            self.message_user(request, f"{shop}: {result['delivered']} delivered, {result['failed']} failed.")

    @admin.action(description="Apply 5 random changes (webhooks follow)")
    def random_changes(self, request, queryset):
        for shop in queryset:
            done = changes.random_changes(shop, 5)
            self.message_user(request, f"{shop}: " + "; ".join(done))

    @admin.action(description="Add 3 generated products (products/create)")
    def add_products(self, request, queryset):
        for shop in queryset:
            created = changes.create_products(shop, 3)
            self.message_user(request, f"{shop}: created {len(created)} products.")

    @admin.action(description="Refill the rate-limit bucket")
    def refill_bucket(self, request, queryset):
        for shop in queryset:
            throttle.reset(shop)
        self.message_user(request, "Buckets refilled.")

    @admin.action(description="Uninstall the app (app/uninstalled; token revoked)")
    def uninstall(self, request, queryset):
        for shop in queryset.filter(uninstalled_at__isnull=True):
            changes.uninstall_app(shop)
        self.message_user(request, "Uninstalled.", messages.WARNING)


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = (
        "legacy_id",
        "title",
        "sku",
        "price",
        "compare_at_price",
        "inventory_quantity",
        "inventory_policy",
        "tracked",
    )
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class ImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ("position", "url", "alt_text")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ProductAdmin(SandboxAdmin):
    list_display = ("title", "legacy_id", "shop", "status", "vendor", "product_type", "published_at", "updated_at")
    list_filter = ("status", ("shop", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("shop",)
    search_fields = ("title", "handle", "=legacy_id")
    readonly_fields = ("shop", "legacy_id", "created_at", "updated_at", "options")
    fields = (
        "shop",
        "legacy_id",
        "title",
        "handle",
        "status",
        "vendor",
        "product_type",
        "tags",
        "description_html",
        "published_at",
        "options",
        "created_at",
        "updated_at",
    )
    inlines = (VariantInline, ImageInline)
    actions = ("publish", "unpublish", "delete_with_webhook")

    def save_model(self, request, obj, form, change):
        """Edits in the admin go through the same path as productUpdate, so products/update fires."""
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in changes.PRODUCT_FIELDS}
        published_changed = "published_at" in form.changed_data
        if fields:
            changes.update_product(Product.objects.get(pk=obj.pk), **fields)
        if published_changed:
            changes.set_published(Product.objects.get(pk=obj.pk), obj.published_at is not None)

    @admin.action(description="Publish to the Online Store")
    def publish(self, request, queryset):
        for product in queryset:
            changes.set_published(product, True)

    @admin.action(description="Hide from the Online Store")
    def unpublish(self, request, queryset):
        for product in queryset:
            changes.set_published(product, False)

    @admin.action(description="Delete (sends products/delete)")
    def delete_with_webhook(self, request, queryset):
        for product in queryset:
            changes.delete_product(product)


class VariantAdmin(SandboxAdmin):
    list_display = (
        "title",
        "legacy_id",
        "product",
        "sku",
        "price",
        "compare_at_price",
        "inventory_quantity",
        "inventory_policy",
        "tracked",
    )
    list_select_related = ("product",)
    search_fields = ("sku", "=legacy_id", "product__title")
    readonly_fields = (
        "shop",
        "product",
        "legacy_id",
        "inventory_item_legacy_id",
        "inventory_quantity",
        "image",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields + (
        "title",
        "sku",
        "barcode",
        "price",
        "compare_at_price",
        "inventory_policy",
        "tracked",
        "taxable",
    )

    def save_model(self, request, obj, form, change):
        """Price/policy edits fire products/update like productVariantsBulkUpdate."""
        update = {name: form.cleaned_data[name] for name in form.changed_data if name in changes.VARIANT_FIELDS}
        if update:
            variant = Variant.objects.select_related("product").get(pk=obj.pk)
            changes.update_variants(variant.product, [{"variant": variant, **update}])


class InventoryLevelAdmin(SandboxAdmin):
    list_display = ("variant", "location", "available", "updated_at")
    list_select_related = ("variant", "location")
    readonly_fields = ("shop", "variant", "location", "updated_at")
    fields = readonly_fields + ("available",)

    def save_model(self, request, obj, form, change):
        """Stock edits fire inventory_levels/update like inventorySetQuantities."""
        changes.set_inventory(obj.variant, obj.available, location=obj.location)


class CollectionAdmin(SandboxAdmin):
    list_display = ("title", "legacy_id", "shop", "handle", "is_smart", "updated_at")
    readonly_fields = ("shop", "legacy_id", "created_at", "updated_at")
    exclude = ("products",)

    @admin.display(boolean=True, description="Smart")
    def is_smart(self, obj):
        return obj.is_smart


class WebhookSubscriptionAdmin(SandboxAdmin):
    list_display = ("topic", "callback_url", "shop", "api_version", "consecutive_failures", "created_at")
    list_filter = ("topic",)
    readonly_fields = ("shop", "legacy_id", "topic", "api_version", "consecutive_failures", "created_at", "updated_at")


class WebhookDeliveryAdmin(SandboxAdmin):
    list_display = (
        "topic",
        "shop",
        "status",
        "attempts",
        "response_status",
        "callback_url",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "topic")
    list_select_related = ("shop",)
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields if field.name != "body"] + ["payload"]
    exclude = ("body",)
    actions = ("redeliver",)

    @admin.display(description="Body")
    def payload(self, obj):
        return bytes(obj.body).decode("utf-8", errors="replace")

    @admin.action(description="Send again (same webhook and event ids: a duplicate)")
    def redeliver(self, request, queryset):
        sent = sum(1 for delivery in queryset.select_related("shop") if webhooks.redeliver(delivery))
        self.message_user(request, f"{sent} delivered.")


class BulkOperationAdmin(SandboxAdmin):
    list_display = (
        "legacy_id",
        "shop",
        "type",
        "status",
        "object_count",
        "root_object_count",
        "file_size",
        "created_at",
        "completed_at",
    )
    list_filter = ("status",)
    readonly_fields = [field.name for field in BulkOperation._meta.fields]
    actions = ("finish_now",)

    @admin.action(description="Run to completion now")
    def finish_now(self, request, queryset):
        for op in queryset:
            bulk.run_to_completion(op)
        self.message_user(request, "Done.")


class OrderAdmin(SandboxAdmin):
    list_display = ("name", "shop", "email", "total_price", "currency", "financial_status", "processed_at")
    readonly_fields = [field.name for field in Order._meta.fields]


# Only where the sandbox is on (the app is not even installed otherwise): its Shop keeps
# the Admin API token and webhook secret in plain text, as the real Shopify does.
if settings.SANDBOX_ENABLED:
    admin.site.register(Shop, ShopAdmin)
    admin.site.register(Product, ProductAdmin)
    admin.site.register(Variant, VariantAdmin)
    admin.site.register(InventoryLevel, InventoryLevelAdmin)
    admin.site.register(Collection, CollectionAdmin)
    admin.site.register(WebhookSubscription, WebhookSubscriptionAdmin)
    admin.site.register(WebhookDelivery, WebhookDeliveryAdmin)
    admin.site.register(BulkOperation, BulkOperationAdmin)
    admin.site.register(Order, OrderAdmin)
