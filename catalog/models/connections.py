"""Connections to the outside: the Shopify store, the Meta token, and the Meta catalog."""

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from galantis.fieldcrypto import encrypt

from .tenancy import TenantOwned


def mask_secret(value: str | None) -> str:
    """Show only the last four characters of a secret (``••••1a2b``)."""
    if not value:
        return ""
    return "••••" + value[-4:]


class ShopifyStore(TenantOwned):
    """A Shopify shop; its Admin API token and webhook secret are encrypted at rest."""

    shop_domain = models.CharField(max_length=255, unique=True, help_text="e.g. my-shop.myshopify.com")
    name = models.CharField(max_length=255, blank=True)
    access_token = encrypt(models.TextField(blank=True))
    webhook_secret = encrypt(models.TextField(blank=True))
    currency = models.CharField(max_length=3, default="USD")
    # Admin API base without version; blank means the shop's own https://{shop}/admin/api.
    admin_url = models.URLField(max_length=500, blank=True)
    api_version = models.CharField(max_length=16, blank=True)
    # Storefront base for product links (shop.primaryDomain.url).
    primary_domain_url = models.URLField(max_length=500, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    # Webhook subscriptions registered at connect time: [{"id", "topic", "address"}].
    webhook_subscriptions = models.JSONField(default=list, blank=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shop_domain"]
        indexes = [models.Index(fields=["tenant", "shop_domain"], name="store_tenant_domain")]
        constraints = [
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="store_currency_iso"),
        ]

    def __str__(self) -> str:
        return self.shop_domain

    @property
    def storefront_url(self) -> str:
        return (self.primary_domain_url or f"https://{self.shop_domain}").rstrip("/")

    @property
    def token_hint(self) -> str:
        return mask_secret(self.access_token)


class MetaConnection(TenantOwned):
    """The tenant's Meta business and catalog access token, with the token's health."""

    class TokenStatus(models.TextChoices):
        UNKNOWN = "unknown", _("Not checked yet")
        VALID = "valid", _("Valid")
        EXPIRING = "expiring", _("Expiring soon")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")
        MISSING_PERMISSION = "missing_permission", _("Missing permission")

    business_id = models.CharField(max_length=64, blank=True)
    access_token = encrypt(models.TextField(blank=True))
    # Kept in clear so lists can show which token is stored without decrypting it.
    token_last4 = models.CharField(max_length=4, blank=True, editable=False)
    token_status = models.CharField(max_length=24, choices=TokenStatus.choices, default=TokenStatus.UNKNOWN)
    token_type = models.CharField(max_length=32, blank=True)
    token_scopes = models.JSONField(default=list, blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    token_checked_at = models.DateTimeField(null=True, blank=True)
    token_error = models.TextField(blank=True)
    # The catalogs the token reached when last listed, so the settings page renders
    # without calling Meta: [{"id", "name", "product_count", "cta", "commerce_settings_id"}].
    available_catalogs = models.JSONField(default=list, blank=True)
    catalogs_fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # States in which nothing can be written to Meta with this token.
    BLOCKING_STATUSES = (TokenStatus.EXPIRED, TokenStatus.REVOKED, TokenStatus.MISSING_PERMISSION)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="metaconnection_one_per_tenant"),
        ]

    def __str__(self) -> str:
        # No token hint: the name shows in titles, dropdowns and logs, also to viewers.
        return f"Meta business {self.business_id or '?'}"

    @property
    def token_hint(self) -> str:
        return ("••••" + self.token_last4) if self.token_last4 else ""

    def set_token(self, token: str) -> None:
        """Store a new token (encrypted) and reset its health until it is checked."""
        token = token.strip()
        self.access_token = token
        self.token_last4 = token[-4:] if token else ""
        self.token_status = self.TokenStatus.UNKNOWN
        self.token_checked_at = None
        self.token_error = ""


class Catalog(TenantOwned):
    """The Meta catalog a store's products are synced to."""

    class Flow(models.TextChoices):
        IMPORT = "import", _("Import an existing catalog")
        CREATE = "create", _("Create a new catalog")
        LINK = "link", _("Link read-only")

    class UpdateFrequency(models.TextChoices):
        """How often the shop's data changes: picks the row of Meta's ingestion table."""

        REALTIME = "realtime", "Less than hourly (near real time)"
        HOURLY = "hourly", "Hourly"
        DAILY = "daily", "Daily"

    class DeltaMethod(models.TextChoices):
        """How changes travel between replace-feed snapshots."""

        AUTO = "auto", "As Meta recommends for the update frequency"
        BATCH_API = "batch_api", "Batch API (items_batch)"
        UPDATE_FEED = "update_feed", "Update-only feed uploads"
        NONE = "none", "Replace feed only"

    class PauseKind(models.TextChoices):
        NONE = "", _("Not paused")
        MANUAL = "manual", _("Paused by staff")
        AUTH = "auth", _("Meta token expired or revoked")
        PERMISSION = "permission", _("Missing Meta permission")
        RATE_LIMIT = "rate_limit", _("Rate limited by Meta")
        OUTAGE = "outage", _("Meta unavailable")
        ERROR = "error", _("Meta rejected our request")
        UNINSTALLED = "uninstalled", _("Shopify app uninstalled")

    store = models.OneToOneField(ShopifyStore, on_delete=models.SET_NULL, null=True, blank=True, related_name="catalog")
    connection = models.ForeignKey(
        MetaConnection, on_delete=models.SET_NULL, null=True, blank=True, related_name="catalogs"
    )
    meta_catalog_id = models.CharField(max_length=64, blank=True, help_text="Blank until created in Meta.")
    name = models.CharField(max_length=255)
    flow = models.CharField(max_length=8, choices=Flow.choices, default=Flow.CREATE)
    commerce_cta = models.CharField(max_length=32, blank=True, help_text="e.g. ONSITE_CHECKOUT")
    pixel_id = models.CharField(max_length=64, blank=True)
    feed_id = models.CharField(max_length=64, blank=True)
    sync_enabled = models.BooleanField(default=False)
    paused_reason = models.TextField(blank=True)
    # Pixel and commerce checks, refreshed when connected and by the daily token check.
    commerce_settings_id = models.CharField(max_length=64, blank=True)
    # The Meta shop (Facebook / Instagram Shop) product sets are published to when staff
    # turn on a set's publish_to_shops (Commerce Manager shows it).
    meta_shop_id = models.CharField(max_length=64, blank=True, help_text="Meta shop id for publishing product sets.")
    event_sources = models.JSONField(default=list, blank=True, help_text='[{"id", "name", "source_type"}]')
    checks_at = models.DateTimeField(null=True, blank=True)
    checks_error = models.TextField(blank=True)
    shard_count = models.PositiveSmallIntegerField(
        default=1, help_text="Items are split into this many shards (stable hash of the retailer id)."
    )
    auto_shard = models.BooleanField(
        default=True, help_text="Shard count follows the catalog's size (catalog.sync.sharding); off: as set."
    )
    # A new shard count waiting for every in-flight batch and upload to finish (drain, then re-shard).
    reshard_to = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    batch_creation = models.BooleanField(
        default=False,
        help_text="Create new items through the Batch API instead of a feed upload. Meta recommends feeds "
        "(docs/meta-ingestion-rules.md, Creation by feed (Case B)); turn on only for a small catalog whose "
        "measured feed latency is too slow.",
    )
    new_item_latency = models.DurationField(
        null=True,
        blank=True,
        help_text="How soon a new product should reach Meta. Blank: 15 minutes. New items wait for the "
        "shard's next replace feed when it is due sooner, else go by an update-feed upload.",
    )
    # Why sync is paused (kind + human reason) and, for causes that pass, until when.
    pause_kind = models.CharField(max_length=16, choices=PauseKind.choices, default=PauseKind.NONE, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True, help_text="Retry automatically after this time.")
    failure_streak = models.PositiveSmallIntegerField(default=0, editable=False)
    # Ingestion plan (Meta's table: catalog size x update frequency); overrides are optional.
    update_frequency = models.CharField(
        max_length=16, choices=UpdateFrequency.choices, default=UpdateFrequency.REALTIME
    )
    delta_method = models.CharField(max_length=16, choices=DeltaMethod.choices, default=DeltaMethod.AUTO)
    replace_feed_interval = models.DurationField(
        null=True, blank=True, help_text="Blank: hourly, or daily for daily-updated shops."
    )
    update_feed_interval = models.DurationField(null=True, blank=True, help_text="Blank: every 15 minutes.")
    max_batch_size = models.PositiveIntegerField(
        default=5000,
        validators=[MinValueValidator(1), MaxValueValidator(5000)],
        help_text="Items per Batch API call (Meta allows at most 5,000).",
    )
    delete_grace_days = models.PositiveSmallIntegerField(
        default=90, help_text="Items of products removed from Shopify are deleted from Meta after this many days."
    )
    last_replace_feed_at = models.DateTimeField(null=True, blank=True)
    last_update_feed_at = models.DateTimeField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["meta_catalog_id"],
                condition=~models.Q(meta_catalog_id=""),
                name="catalog_unique_meta_id",
            ),
            models.CheckConstraint(
                condition=models.Q(shard_count__gte=1, shard_count__lte=256), name="catalog_shard_count_range"
            ),
            models.CheckConstraint(
                condition=models.Q(reshard_to__isnull=True) | models.Q(reshard_to__gte=1, reshard_to__lte=256),
                name="catalog_reshard_to_range",
            ),
            models.CheckConstraint(
                condition=models.Q(flow__in=["import", "create", "link"]), name="catalog_flow_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(max_batch_size__gte=1, max_batch_size__lte=5000), name="catalog_max_batch_size_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_read_only(self) -> bool:
        return self.flow == self.Flow.LINK

    @property
    def has_onsite_checkout(self) -> bool:
        return self.commerce_cta == "ONSITE_CHECKOUT"

    @property
    def is_paused(self) -> bool:
        return bool(self.pause_kind)

    @property
    def display_paused_reason(self) -> str:
        """Why sync is paused, in the active language: our sentence for the pause kind, then the stored detail.

        The detail (``paused_reason``) is written once, in English, and often quotes Meta's own
        error: it is shown as stored, after the translated sentence ("" when not paused).
        """
        if not self.paused_reason and not self.pause_kind:
            return ""
        sentence = PAUSE_SENTENCES.get(self.pause_kind, "")
        if not sentence:
            return self.paused_reason
        if not self.paused_reason:
            return gettext(sentence)
        return gettext("%(sentence)s %(detail)s") % {"sentence": gettext(sentence), "detail": self.paused_reason}

    @property
    def effective_delta_method(self) -> str:
        """Meta's table: Batch API for faster-than-hourly shops, the replace feed alone otherwise."""
        if self.delta_method != self.DeltaMethod.AUTO:
            return self.delta_method
        if self.update_frequency == self.UpdateFrequency.REALTIME:
            return self.DeltaMethod.BATCH_API
        return self.DeltaMethod.NONE

    @property
    def effective_replace_feed_interval(self) -> timedelta:
        if self.replace_feed_interval:
            return self.replace_feed_interval
        if self.update_frequency == self.UpdateFrequency.DAILY:
            return timedelta(days=1)
        return timedelta(hours=1)

    @property
    def effective_update_feed_interval(self) -> timedelta:
        return self.update_feed_interval or timedelta(minutes=15)

    @property
    def effective_new_item_latency(self) -> timedelta:
        return self.new_item_latency or timedelta(minutes=15)


# The sentence shown before a paused catalog's stored reason, per pause kind (Catalog.display_paused_reason).
PAUSE_SENTENCES = {
    Catalog.PauseKind.MANUAL: gettext_noop("Paused by staff."),
    Catalog.PauseKind.AUTH: gettext_noop("The Meta token expired or was revoked."),
    Catalog.PauseKind.PERMISSION: gettext_noop("The Meta token lacks a permission this catalog needs."),
    Catalog.PauseKind.RATE_LIMIT: gettext_noop("Meta asked us to slow down; sync resumes on its own."),
    Catalog.PauseKind.OUTAGE: gettext_noop("Meta is unavailable; sync resumes on its own."),
    Catalog.PauseKind.ERROR: gettext_noop("Meta rejected our request; sync retries later."),
    Catalog.PauseKind.UNINSTALLED: gettext_noop("The Shopify app was uninstalled."),
}
