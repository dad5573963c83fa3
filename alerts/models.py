"""Alerts: the conditions found open per tenant, who is told, and the digests that told them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from catalog.models import Membership, TenantOwned, TenantSettings

from .texts import render


class Kind(models.TextChoices):
    TOKEN = "token", "Meta token expiring or unusable"
    SYNC_PAUSED = "sync_paused", "Sync paused"
    FAILURE_SPIKE = "failure_spike", "Failure spike"
    REJECTED = "rejected", "Items rejected in Meta's review"
    NOT_VISIBLE = "not_visible", "Items no longer visible after being live"
    CONVERSIONS = "conversions", "Conversions API failing"
    DRIFT = "drift", "Drift, ghosts or a duplicate catalog found in Meta"


def all_kinds() -> list[str]:
    return list(Kind.values)


def owners_only() -> list[str]:
    return [Membership.Role.OWNER]


class AlertSettings(TenantSettings):
    """Who of a tenant gets which alerts by e-mail (no row: every kind, to the owners)."""

    enabled = models.BooleanField(default=True, help_text="Off: no e-mail at all (the banners stay).")
    kinds = models.JSONField(default=all_kinds, blank=True, help_text="The kinds of alert that are e-mailed.")
    roles = models.JSONField(default=owners_only, blank=True, help_text="Members with these roles get the e-mail.")
    opted_out = models.TextField(
        blank=True, help_text="E-mail addresses of members who want no alert e-mail (one a line or comma-separated)."
    )
    extra_recipients = models.TextField(
        blank=True, help_text="Further addresses that get the digest (one a line or comma-separated)."
    )

    class Meta(TenantSettings.Meta):
        verbose_name = "alert settings"
        verbose_name_plural = "alert settings"


class Alert(TenantOwned):
    """One condition of a tenant, by key (e.g. ``sync_paused:12``): open while it lasts, then resolved.

    ``fingerprint`` says what the condition is now (a pause's kind, a token's expiry day, a
    failure share's band); a digest carries the alert when it is new, when the fingerprint
    differs from ``sent_fingerprint``, or a day after it was last sent.
    """

    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=64)
    catalog = models.ForeignKey("catalog.Catalog", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    fix_url = models.URLField(max_length=500, blank=True)
    fix_label = models.CharField(max_length=100, blank=True)
    fingerprint = models.CharField(max_length=200, blank=True)
    # The title, message and fix label as message ids and values (``alerts.texts``), rendered in the
    # reader's language; ``title``/``message``/``fix_label`` keep the English (rows older than this: only that).
    texts = models.JSONField(default=dict, blank=True)
    # Counted conditions (rejected items): what the last run saw, and the count when it was last
    # clear; the alert is open while the count is above ``base_count``. Kept on resolved rows.
    seen_count = models.BigIntegerField(default=0)
    base_count = models.BigIntegerField(default=0)
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    sent_fingerprint = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="alert_unique_tenant_key")]
        indexes = [models.Index(fields=["tenant", "resolved_at"], name="alert_tenant_open")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def _shown(self, name: str) -> str:
        text = (self.texts or {}).get(name)
        return render(text) if text else getattr(self, name)

    @property
    def display_title(self) -> str:
        """The title in the active language."""
        return self._shown("title")

    @property
    def display_message(self) -> str:
        return self._shown("message")

    @property
    def display_fix_label(self) -> str:
        return self._shown("fix_label")


class Digest(TenantOwned):
    """One e-mail to a tenant's recipients: built once, sent by ``alerts.mail`` until it goes (or is given up)."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        GAVE_UP = "gave_up", "Given up"

    subject = models.CharField(max_length=200)
    body = models.TextField()
    recipients = models.JSONField(default=list)
    alert_ids = models.JSONField(default=list)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "created_at"], name="digest_state"),
            models.Index(fields=["tenant", "-created_at"], name="digest_tenant_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["pending", "sent", "gave_up"]), name="digest_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.get_state_display()})"
