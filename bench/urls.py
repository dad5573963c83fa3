"""The project's routes plus the naive baselines' endpoints (bench processes only)."""

from django.urls import path

from galantis.urls import urlpatterns as project_urlpatterns

from . import naive

urlpatterns = [
    path("bench/naive/shopify-webhook/", naive.shopify_webhook, name="bench_naive_shopify_webhook"),
    *project_urlpatterns,
]
