"""Settings → WhatsApp Connection routes (mounted at /settings/)."""

from django.urls import path

from . import views

app_name = "connection"
urlpatterns = [
    path("whatsapp/", views.whatsapp_settings, name="whatsapp"),
    path("whatsapp/token/", views.save_token, name="save_token"),
    path("whatsapp/token/check/", views.check_token_now, name="check_token"),
    path("whatsapp/catalogs/refresh/", views.refresh_catalogs, name="refresh_catalogs"),
    path("whatsapp/catalog/", views.choose_catalog, name="choose_catalog"),
    path("whatsapp/catalogs/<int:pk>/checks/", views.rerun_checks, name="rerun_checks"),
    path("whatsapp/catalogs/<int:pk>/pixel/", views.connect_pixel, name="connect_pixel"),
    path("whatsapp/catalogs/<int:pk>/reread/", views.reread_catalog, name="reread_catalog"),
    path("whatsapp/reports/<int:pk>/", views.report_detail, name="report"),
    path("whatsapp/onboarding/<int:pk>/confirm/", views.confirm_onboarding, name="confirm_onboarding"),
    path("whatsapp/onboarding/<int:pk>/dismiss/", views.dismiss_onboarding, name="dismiss_onboarding"),
]
