from django.apps import AppConfig


class ShopifySandboxConfig(AppConfig):
    name = "sandbox.shopify"
    label = "sandbox_shopify"
    verbose_name = "Sandbox: Shopify Admin API"
    default_auto_field = "django.db.models.BigAutoField"
