"""Sandbox routes: the Graph API under graph/ and the Shopify Admin API under shopify/."""

from django.urls import include, path

app_name = "sandbox"
urlpatterns: list = [
    path("shopify/", include("sandbox.shopify.urls")),
]
