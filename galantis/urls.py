"""URL routes. Each app owns its own url module; the sandbox is mounted only when enabled."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from catalog.connection.webhook_views import onboarding_webhook

from .healthz import healthz

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("health/", include("diagnostics.urls")),
    path("healthz", healthz, name="healthz"),
    path("settings/", include("catalog.connection.urls")),
    path("shopify/", include("catalog.urls")),
    path("meta/webhooks/onboarding/", onboarding_webhook, name="meta_onboarding_webhook"),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
