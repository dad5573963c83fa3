"""URL routes. Each app owns its own url module; the sandbox is mounted only when enabled."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Galantis catalog sync"
admin.site.site_title = "Galantis"
admin.site.index_title = "Shopify → Meta catalog operations"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("shopify/", include("catalog.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
