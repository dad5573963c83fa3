"""Who calls the sandbox Graph API: apps, businesses, system users and their tokens."""

from __future__ import annotations

import secrets
import string
from datetime import datetime

from django.db import models
from django.utils import timezone

from .nodes import GraphNode, Kind

_TOKEN_ALPHABET = string.ascii_letters + string.digits
# Scopes a sandbox system-user token gets by default: everything the catalog sync needs.
DEFAULT_SCOPES = [
    "catalog_management",
    "business_management",
    "ads_management",
    "whatsapp_business_management",
]


def new_access_token() -> str:
    """A token shaped like Meta's (``EAA`` + ~180 alphanumerics)."""
    return "EAAS" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(176))


def new_app_secret() -> str:
    return secrets.token_hex(16)


class SandboxApp(GraphNode):
    """A Meta app; ``APP_ID|APP_SECRET`` is its app access token."""

    KIND = Kind.APP

    name = models.CharField(max_length=255, default="Galantis Sandbox App")
    secret = models.CharField(max_length=64, default=new_app_secret)
    # Meta's "Require App Secret" switch: only then is appsecret_proof checked.
    require_appsecret_proof = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "app"

    def __str__(self) -> str:
        return f"{self.name} ({self.fbid})"

    @property
    def app_token(self) -> str:
        return f"{self.fbid}|{self.secret}"


class Business(GraphNode):
    """A Business Manager account: owns catalogs, pixels and system users."""

    KIND = Kind.BUSINESS

    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "businesses"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.fbid})"


class SystemUser(GraphNode):
    """A Business Manager system user, the owner of server-to-server tokens."""

    KIND = Kind.SYSTEM_USER

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="system_users")
    name = models.CharField(max_length=255, default="Catalog sync system user")

    def __str__(self) -> str:
        return self.name


class AccessTokenQuerySet(models.QuerySet):
    def usable(self, now: datetime | None = None) -> AccessTokenQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class AccessToken(models.Model):
    """An access token with its scopes, expiry and revocation (settable to simulate failures)."""

    class Type(models.TextChoices):
        SYSTEM_USER = "SYSTEM_USER", "System user"
        USER = "USER", "User"
        PAGE = "PAGE", "Page"

    class State(models.TextChoices):
        VALID = "valid", "Valid"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    token = models.CharField(max_length=255, unique=True, default=new_access_token)
    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="tokens")
    system_user = models.ForeignKey(SystemUser, on_delete=models.CASCADE, related_name="tokens")
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.SYSTEM_USER)
    scopes = models.JSONField(default=list, blank=True)
    # Catalog FBIDs the system user is assigned; empty means every catalog of the business.
    assigned_catalog_ids = models.JSONField(default=list, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Blank: never expires (system user).")
    data_access_expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.get_type_display()} token ••••{self.token[-4:]}"

    @property
    def business(self) -> Business:
        return self.system_user.business

    def state(self, now: datetime | None = None) -> State:
        now = now or timezone.now()
        if self.revoked_at is not None and self.revoked_at <= now:
            return self.State.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return self.State.EXPIRED
        return self.State.VALID

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    def can_use_catalog(self, catalog_fbid: str) -> bool:
        """Asset assignment: the system user must be assigned the catalog."""
        return not self.assigned_catalog_ids or catalog_fbid in self.assigned_catalog_ids
