"""Sandbox routes: the Graph API under graph/ and the Shopify Admin API under shopify/."""

from django.urls import include, path, re_path

from .graph.dispatch import graph_api

app_name = "sandbox"
urlpatterns = [
    # Every path under graph/ reaches the Graph dispatcher, which answers JSON even for
    # unknown paths (Meta's "Unknown path components"), never Django's HTML 404.
    re_path(r"^graph(?:/(?P<path>.*))?$", graph_api, name="graph"),
    path("shopify/", include("sandbox.shopify.urls")),
]
