"""Sandbox routes: the Graph API under graph/ and the Shopify Admin API under shopify/."""

app_name = "sandbox"
urlpatterns: list = []
