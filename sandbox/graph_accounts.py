"""Create sandbox Meta accounts: a business with one empty commerce catalog, its commerce
settings, a pixel and a non-expiring system-user token."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from .models import (
    DEFAULT_SCOPES,
    AccessToken,
    Business,
    CommerceMerchantSettings,
    Pixel,
    ProductCatalog,
    SandboxApp,
    SystemUser,
)

SANDBOX_APP_NAME = "Galantis Sandbox App"


def sandbox_app() -> SandboxApp:
    """The app every sandbox token belongs to (created once)."""
    app = SandboxApp.objects.filter(name=SANDBOX_APP_NAME).order_by("pk").first()
    return app or SandboxApp.objects.create(name=SANDBOX_APP_NAME)


def issue_token(system_user: SystemUser, *, scopes: list[str] | None = None) -> AccessToken:
    """A new non-expiring system-user token (default scopes: everything the sync needs)."""
    return AccessToken.objects.create(
        app=sandbox_app(),
        system_user=system_user,
        type=AccessToken.Type.SYSTEM_USER,
        scopes=list(DEFAULT_SCOPES if scopes is None else scopes),
    )


@transaction.atomic
def create_sandbox_business(
    *, name: str = "Sandbox Business", catalog_name: str | None = None, cta: str = "ONSITE_CHECKOUT"
) -> dict:
    """Create a business, an empty catalog with commerce settings, a pixel and a token.

    Returns ``{"graph_url", "api_version", "business_id", "catalog_id", "pixel_id",
    "access_token"}`` with ``graph_url`` absolute, built from ``settings.SITE_URL``.
    """
    business = Business.objects.create(name=name)
    system_user = SystemUser.objects.create(business=business, name=f"{name} catalog sync")
    catalog = ProductCatalog.objects.create(business=business, name=catalog_name or f"{name} catalog")
    CommerceMerchantSettings.objects.create(catalog=catalog, display_name=name, cta=cta)
    pixel = Pixel.objects.create(business=business, name=f"{name} pixel")
    token = issue_token(system_user)
    return {
        "graph_url": f"{settings.SITE_URL}/sandbox/graph",
        "api_version": settings.META_API_VERSION,
        "business_id": business.fbid,
        "catalog_id": catalog.fbid,
        "pixel_id": pixel.fbid,
        "access_token": token.token,
    }
