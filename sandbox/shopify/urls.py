"""Shopify sandbox routes, mounted at /sandbox/shopify/ (see sandbox/urls.py)."""

from django.urls import path

from . import views

app_name = "sandbox_shopify"
urlpatterns = [
    path("<str:shop>/admin/api/<str:version>/graphql.json", views.graphql_view, name="graphql"),
    path("bulk/<str:token>.jsonl", views.bulk_result_view, name="bulk_result"),
]
