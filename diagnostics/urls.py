"""Merchant health pages, mounted at /health/."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "health"

urlpatterns = [
    path("", views.health_page, name="index"),
    path("items/", views.item_list, name="items"),
    path("items.csv", views.export_items, name="export"),
    path("products/<int:pk>/", views.product_page, name="product"),
    path("check/", views.check_now, name="check"),
    path("login/", auth_views.LoginView.as_view(template_name="diagnostics/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="health:login"), name="logout"),
]
