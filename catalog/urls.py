"""Routes mounted at /shopify/ (Shopify webhooks)."""

from django.urls import path

from .shopify import views

app_name = "shopify"
urlpatterns = [
    path("webhooks/", views.webhook, name="webhooks"),
]
