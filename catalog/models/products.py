"""Shopify products (= Meta item groups), variants (= Meta items) and product sets."""

import zlib
from datetime import UTC, datetime
from typing import Self

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .counts import fold_state_rows
from .tenancy import TenantOwned, TenantQuerySet
from .timeline import VariantEvent

# Shards are taken as shard_key % catalog.shard_count, so shard_key must be a
# multiple-friendly range larger than any shard count we allow (256).
SHARD_KEY_SPACE = 1 << 16

# Locally invalid variants of which Meta still shows a version (``item_state.needs_hiding``
# adds "not in staging"). Here, not in item_state, because the partial index
# ``variant_needs_hiding`` is built on it: the claim's query and the index share one definition.
LOCALLY_FAILED_SHOWN_BY_META = models.Q(meta_status="FAILED", failure_source="LOCAL", meta_deleted_at__isnull=True) & (
    ~models.Q(synced_hash="") | ~models.Q(meta_item_id="")
)


def shard_key_for(retailer_id: str) -> int:
    """Stable hash of a retailer id: an item always falls in the same shard."""
    return zlib.crc32(retailer_id.encode("utf-8")) % SHARD_KEY_SPACE


class Product(TenantOwned):
    """A Shopify product; in Meta, the item group its variants share."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        DRAFT = "DRAFT", _("Draft")
        ARCHIVED = "ARCHIVED", _("Archived")
        UNLISTED = "UNLISTED", _("Unlisted")

    class Gender(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        UNISEX = "unisex", "Unisex"

    class AgeGroup(models.TextChoices):
        ADULT = "adult", "Adult"
        ALL_AGES = "all ages", "All ages"
        TEEN = "teen", "Teen"
        KIDS = "kids", "Kids"
        TODDLER = "toddler", "Toddler"
        INFANT = "infant", "Infant"
        NEWBORN = "newborn", "Newborn"

    # What Shopify says the product is, shown on Meta's item as it is: an import or a webhook
    # writes these (catalog.shopify.upsert) and the item mapping reads them (catalog.sync.item_rows).
    SHOPIFY_CONTENT_FIELDS = (
        "handle",
        "title",
        "description_html",
        "vendor",
        "product_type",
        "status",
        "published",
        "tags",
        "images",
    )

    store = models.ForeignKey("catalog.ShopifyStore", on_delete=models.CASCADE, related_name="products")
    shopify_product_id = models.BigIntegerField()
    handle = models.CharField(max_length=255)
    title = models.CharField(max_length=512)
    description_html = models.TextField(blank=True)
    vendor = models.CharField(max_length=255, blank=True)
    product_type = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Published to the Online Store sales channel (onlineStoreUrl / published_at not null).
    published = models.BooleanField(default=True)
    tags = models.JSONField(default=list, blank=True)
    # [{"id": ..., "src": ..., "alt": ...}, ...] in Shopify's order; the first is featured.
    images = models.JSONField(default=list, blank=True)
    # Shopify's product category (Standard Product Taxonomy): the TaxonomyCategory gid and
    # its full name ("Apparel & Accessories > Clothing > ..."); google_product_category is
    # derived from it when staff set none (catalog.google_taxonomy).
    shopify_category_id = models.CharField(max_length=255, blank=True, editable=False)
    shopify_category = models.CharField(max_length=1000, blank=True, editable=False)
    # The product's video media, in Shopify's order: [{"id": gid, "url": ...}] (Meta: video).
    videos = models.JSONField(default=list, blank=True, editable=False)
    # The product metafields Galantis reads (catalog.shopify.queries.METAFIELD_KEYS):
    # {"custom.material": "Wool", ...}. Meta: material, pattern, gender, age_group, sale dates.
    metafields = models.JSONField(default=dict, blank=True, editable=False)
    shopify_updated_at = models.DateTimeField(null=True, blank=True)
    # When the stored Shopify state was read (webhook trigger time, import fetch time):
    # Shopify's updated_at has 1-second precision, this breaks ties between two versions
    # of the same second that arrive out of order.
    shopify_observed_at = models.DateTimeField(null=True, blank=True)
    # Set when the product vanished from Shopify; the sync engine decides when Meta deletes it.
    removed_at = models.DateTimeField(null=True, blank=True)

    # Meta-only fields staff may set.
    fb_product_category = models.CharField(max_length=255, blank=True)
    google_product_category = models.CharField(max_length=255, blank=True)
    gender = models.CharField(max_length=8, choices=Gender.choices, blank=True)
    age_group = models.CharField(max_length=8, choices=AgeGroup.choices, blank=True)
    custom_label_0 = models.CharField(max_length=100, blank=True)
    custom_label_1 = models.CharField(max_length=100, blank=True)
    custom_label_2 = models.CharField(max_length=100, blank=True)
    custom_label_3 = models.CharField(max_length=100, blank=True)
    custom_label_4 = models.CharField(max_length=100, blank=True)
    excluded_from_meta = models.BooleanField(default=False, help_text="Never send this product to Meta.")
    # The item_group_id its variants carry; blank means the Shopify product id. Set once, when
    # the product id is already the id of an old product-level item in an imported catalog
    # (scenario 3): Meta refuses a group id that an item holds (#10800), and the old item must
    # stay until the variants that take over its history (previous_id) are confirmed.
    meta_group_id = models.CharField(max_length=100, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "shopify_product_id"], name="product_unique_shopify_id"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status"], name="product_tenant_status"),
            models.Index(fields=["tenant", "vendor"], name="product_tenant_vendor"),
            models.Index(fields=["tenant", "product_type"], name="product_tenant_type"),
            models.Index(fields=["store", "shopify_product_id"], name="product_store_shopify_id"),
            # A tenant's newest first (the admin's changelist order) without sorting the tenant's rows.
            models.Index(fields=["tenant", "id"], name="product_tenant_recent"),
            # Products removed from Shopify (few): every push looks for deletions that are due.
            models.Index(fields=["tenant"], condition=models.Q(removed_at__isnull=False), name="product_removed"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def item_group_id(self) -> str:
        """The ``item_group_id`` of this product's items in Meta."""
        return self.meta_group_id or str(self.shopify_product_id)

    @property
    def featured_image_url(self) -> str:
        return self.images[0].get("src", "") if self.images else ""

    @property
    def shopify_admin_url(self) -> str:
        return f"https://{self.store.shop_domain}/admin/products/{self.shopify_product_id}"


# Before any event: the lower bound of "since the last time it was live" for a variant never live.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class VariantQuerySet(TenantQuerySet):
    def pending(self) -> Self:
        """Variants waiting to be pushed and not already in flight."""
        return self.filter(meta_status=Variant.SyncStatus.PENDING, in_flight_batch__isnull=True)

    def failed(self) -> Self:
        return self.filter(meta_status=Variant.SyncStatus.FAILED)

    def synced(self) -> Self:
        return self.filter(meta_status=Variant.SyncStatus.SYNCED)

    def in_shard(self, shard: int, shard_count: int) -> Self:
        """Variants whose stable shard key falls in ``shard`` of ``shard_count``."""
        if shard_count <= 1:
            return self
        return self.alias(_shard=models.F("shard_key") % shard_count).filter(_shard=shard)

    def with_item_relations(self) -> Self:
        """With the product and store ``catalog.items.meta_item`` reads, joined in the same query.

        The store's encrypted secrets are deferred: decrypting both for every variant row
        cost more than building the Meta item itself (bench: full_sync / replace_feed profile).
        """
        return self.select_related("product", "product__store").defer(
            "product__store__access_token", "product__store__webhook_secret"
        )

    def with_not_shown_since(self) -> Self:
        """Annotate ``not_shown_since``: since when a variant customers cannot see has been so (else None).

        The merchant's "since when?": the first timeline event that kept the item from being
        shown (Meta's review rejected it, Meta hides it, Meta rejected the version we sent, our
        checks caught it, it is held) after the last time Meta's verdict said live; a variant
        never live counts from its first such event. A live item Meta has not approved for
        WhatsApp (pending, or turned off there) counts from its last verdict or WhatsApp event.
        Evaluated only for variants in such a state (the CASE guards the subqueries); each is
        a range read of the timeline's (variant, at, id) index that stops at the first match.
        """
        kind = VariantEvent.Kind
        last_live = (
            VariantEvent.objects.filter(variant_id=models.OuterRef(models.OuterRef("pk")), kind=kind.LIVE)
            .order_by("-at", "-id")
            .values("at")[:1]
        )
        first_unseen = (
            VariantEvent.objects.filter(
                variant_id=models.OuterRef("pk"),
                kind__in=(kind.REVIEW_REJECTED, kind.NOT_VISIBLE, kind.REJECTED, kind.INVALID, kind.HELD),
                at__gt=models.functions.Coalesce(
                    models.Subquery(last_live), models.Value(NEVER, output_field=models.DateTimeField())
                ),
            )
            .order_by("at", "id")
            .values("at")[:1]
        )
        # Live in the catalog but not (yet) on WhatsApp: since its verdict or WhatsApp status last moved.
        last_moved = (
            VariantEvent.objects.filter(variant_id=models.OuterRef("pk"), kind__in=(kind.LIVE, kind.WHATSAPP))
            .order_by("-at", "-id")
            .values("at")[:1]
        )
        off_whatsapp = (
            models.Q(excluded=False, meta_status=Variant.SyncStatus.SYNCED, verdict=Variant.Verdict.LIVE)
            & models.Q(channel_review__has_key="whatsapp")
            & ~models.Q(channel_review__whatsapp="APPROVED")
        )
        unseen = models.Q(excluded=False) & (
            models.Q(meta_status=Variant.SyncStatus.FAILED)
            | models.Q(
                meta_status=Variant.SyncStatus.SYNCED,
                verdict__in=(Variant.Verdict.REJECTED, Variant.Verdict.NOT_VISIBLE),
            )
        )
        return self.annotate(
            not_shown_since=models.Case(
                models.When(unseen, then=models.Subquery(first_unseen)),
                models.When(off_whatsapp, then=models.Subquery(last_moved)),
                default=None,
                output_field=models.DateTimeField(),
            )
        )

    def health_counts(self) -> dict:
        """The stable counts contract (``sync_status --json``, health page): one grouped query.

        ``pending`` / ``synced`` / ``failed`` count variants that are to be live in Meta;
        ``excluded`` those that are not (draft, archived, unpublished, excluded by staff,
        removed), whatever their push status. ``verdict`` splits ``synced``: ``live`` +
        ``not_visible`` + ``in_review`` == ``synced``, and ``rejected`` is the part of
        ``not_visible`` that Meta's review rejected.

        This counts; the pages read the same numbers maintained per catalog
        (``VariantStateCount``), which ``state_counts.reconcile()`` proves equal to it.
        """
        rows = self.order_by().values_list("meta_status", "excluded", "verdict").annotate(n=models.Count("*"))
        return fold_state_rows(rows)

    def status_counts(self) -> dict[str, int]:
        """PENDING / SYNCED / FAILED counts in one grouped query.

        ``COUNT(*)``, not ``COUNT(id)``: the id is not in the (catalog, meta_status) and
        (tenant, meta_status) indexes, so counting it forces PostgreSQL to read every row of
        the table instead of an index-only scan (figures in bench/README.md, "History").
        """
        counts = {status: 0 for status in Variant.SyncStatus.values}
        for row in self.order_by().values("meta_status").annotate(n=models.Count("*")):
            counts[row["meta_status"]] = row["n"]
        return counts


class Variant(TenantOwned):
    """A Shopify variant; in Meta, one catalog item whose id is ``retailer_id``."""

    class SyncStatus(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        SYNCED = "SYNCED", _("Synced")
        FAILED = "FAILED", _("Failed")

    class FailureSource(models.TextChoices):
        """Who said the item cannot be live (replaces guessing from ``last_error_code``)."""

        NONE = "", _("—")
        LOCAL = "LOCAL", _("Caught before sending")
        META_BATCH = "META_BATCH", _("Rejected by Meta (Batch API)")
        META_FEED = "META_FEED", _("Rejected by Meta (feed upload)")
        META_REVIEW = "META_REVIEW", _("Rejected in Meta's review")
        INTEGRATION = "INTEGRATION", _("Connection to Meta")

    class Verdict(models.TextChoices):
        """Meta's verdict on an item it holds (SYNCED variants only; blank otherwise).

        Derived from ``review_status``, ``visibility``, ``image_fetch_status`` and the
        WhatsApp capability by :func:`catalog.item_state.verdict_for`, stored so the health
        page counts it from an index.
        """

        NONE = "", "—"
        LIVE = "LIVE", "Live"
        REJECTED = "REJECTED", "Synced but rejected in Meta's review"
        NOT_VISIBLE = "NOT_VISIBLE", "Synced but not visible"
        IN_REVIEW = "IN_REVIEW", "In Meta's review"

    class CreatedVia(models.TextChoices):
        """How the item Meta holds was created: it is deleted by the same method.

        docs/meta-ingestion-rules.md, "Deletion by the creating method".
        """

        NONE = "", "Not in Meta"
        FEED = "FEED", "Our feed upload"
        BATCH = "BATCH", "Our Batch API call"
        OTHER = "OTHER", "Another tool (imported catalog)"

    class InventoryPolicy(models.TextChoices):
        DENY = "DENY", "Deny (stop selling at 0)"
        CONTINUE = "CONTINUE", "Continue selling"

    # Every sync rewrites each variant row twice (claim, verdict), and every index costs on
    # each write: the single-column indexes Django adds to these foreign keys are left out
    # where a composite index below already leads with the column (tenant: several;
    # catalog: variant_catalog_status; in_flight_batch: variant_in_flight). About a
    # quarter off those UPDATEs on PostgreSQL.
    tenant = models.ForeignKey("catalog.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    catalog = models.ForeignKey(
        "catalog.Catalog", on_delete=models.SET_NULL, null=True, blank=True, related_name="variants", db_index=False
    )
    shopify_variant_id = models.BigIntegerField()
    title = models.CharField(max_length=255, blank=True)
    sku = models.CharField(max_length=255, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text='{"Size": "M", "Color": "Blue"}')
    position = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=14, decimal_places=2)
    compare_at_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    inventory_quantity = models.IntegerField(default=0)
    inventory_policy = models.CharField(max_length=8, choices=InventoryPolicy.choices, default=InventoryPolicy.DENY)
    inventory_tracked = models.BooleanField(default=True)
    inventory_item_id = models.BigIntegerField(null=True, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    shopify_updated_at = models.DateTimeField(null=True, blank=True)
    shopify_observed_at = models.DateTimeField(null=True, blank=True)
    # When inventory_quantity was last set from Shopify (inventory webhooks carry their
    # own time): an older products/update never overwrites a newer stock level.
    inventory_updated_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    # Meta state.
    retailer_id = models.CharField(max_length=100, help_text="Meta item id; never changes once assigned.")
    shard_key = models.PositiveIntegerField(default=0, editable=False)
    meta_status = models.CharField(max_length=8, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    meta_item_id = models.CharField(max_length=64, blank=True)
    # Hash of the payload as it is now, and of the last payload Meta accepted.
    payload_hash = models.CharField(max_length=64, blank=True)
    synced_hash = models.CharField(max_length=64, blank=True)
    in_flight_batch = models.ForeignKey(
        "catalog.SyncBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="variants",
        db_index=False,
    )
    # Hash of the payload sent in the in-flight batch: if payload_hash moved on, the
    # variant changed in flight and stays PENDING.
    in_flight_hash = models.CharField(max_length=64, blank=True)
    # The clearable optional fields (catalog.items.CLEARABLE_FIELDS, one bit each) of the payload
    # as it is now, of the payload in flight, and that Meta may hold (a superset: all of them when
    # unknown). An update-only feed cannot clear a field, so an item Meta holds is accepted as
    # SYNCED from one only when Meta holds no field its payload lacks (catalog.sync.claim).
    payload_mask = models.BigIntegerField(default=0, editable=False)
    in_flight_mask = models.BigIntegerField(default=0, editable=False)
    held_mask = models.BigIntegerField(default=0, editable=False)
    # The payload hash Meta last rejected: that exact version is held, not sent again, until
    # the data changes or staff retry it (item_state.HELD).
    failed_hash = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=100, blank=True)
    failure_source = models.CharField(max_length=16, choices=FailureSource.choices, blank=True, default="")
    last_error_fix = models.TextField(blank=True, help_text="What to do about ``last_error`` (our words).")
    # Not to be live in Meta: product draft / archived / unpublished / excluded by staff, or removed.
    excluded = models.BooleanField(default=False)

    # Meta's verdict, as last read back from Meta (never inferred from our push).
    review_status = models.CharField(max_length=32, blank=True, help_text="Meta's review_status, verbatim.")
    review_rejection_reasons = models.JSONField(default=list, blank=True)
    visibility = models.CharField(max_length=16, blank=True, help_text="Meta's visibility (published / staging).")
    image_fetch_status = models.CharField(max_length=32, blank=True)
    # capability_to_review_status: {"whatsapp": "APPROVED", ...}, verbatim.
    channel_review = models.JSONField(default=dict, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True, default="")
    verdict_checked_at = models.DateTimeField(null=True, blank=True)
    previous_id = models.CharField(max_length=100, blank=True, help_text="Former Meta item id (scenario 3).")
    # In a read-only (linked) catalog the item may carry another tool's id; product
    # messages must name that id. Blank means the item id is ``retailer_id``.
    meta_retailer_id = models.CharField(max_length=255, blank=True)
    # How the in-flight batch treats this item: "" (upsert), "DELETE", or "SKIP" (kept out of Meta).
    in_flight_method = models.CharField(max_length=8, blank=True)
    # Set when the item is known to be absent from Meta: deleted after the grace period, or
    # never created because its product is excluded. Cleared when Meta accepts it again.
    meta_deleted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # Who created the item Meta holds, and when a replace feed of ours last listed it since
    # (Meta's feed then owns it). Delete by the creating method, and only items a
    # replace feed listed since they were created (catalog.sync.claim.method_case;
    # docs/meta-ingestion-rules.md, "Deletion by the creating method").
    created_via = models.CharField(max_length=8, choices=CreatedVia.choices, blank=True, default="")
    in_replace_feed_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VariantQuerySet.as_manager()

    class Meta:
        ordering = ["product_id", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "shopify_variant_id"], name="variant_unique_shopify_id"),
            models.UniqueConstraint(fields=["catalog", "retailer_id"], name="variant_unique_retailer_id_per_catalog"),
            models.UniqueConstraint(fields=["tenant", "retailer_id"], name="variant_unique_retailer_id_per_tenant"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="variant_price_not_negative"),
            models.CheckConstraint(condition=~models.Q(retailer_id=""), name="variant_retailer_id_set"),
            models.CheckConstraint(
                condition=models.Q(meta_status__in=["PENDING", "SYNCED", "FAILED"]), name="variant_meta_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["catalog", "meta_status"], name="variant_catalog_status"),
            models.Index(fields=["tenant", "meta_status"], name="variant_tenant_status"),
            # The health page's verdict counts (index-only).
            models.Index(fields=["catalog", "meta_status", "excluded", "verdict"], name="variant_catalog_verdict"),
            models.Index(fields=["tenant", "sku"], name="variant_tenant_sku"),
            models.Index(fields=["in_flight_batch"], name="variant_in_flight"),
            # A tenant's newest first (the admin's changelist order) without sorting the tenant's rows.
            models.Index(fields=["tenant", "id"], name="variant_tenant_recent"),
            # Variants removed from Shopify (few): every push looks for deletions that are due,
            # which without it scans the whole catalog (bench/README.md, "History").
            models.Index(fields=["catalog"], condition=models.Q(removed_at__isnull=False), name="variant_removed"),
            # Locally invalid items Meta still shows (few: ``item_state.needs_hiding``). Every Batch
            # API claim and its ``exists()`` look for them beside the PENDING ones; without it that
            # arm of the OR read every locally failed row (69,000 at 1M): ~0.5 s a query
            # (bench/README.md, "sixth session").
            models.Index(fields=["catalog"], condition=LOCALLY_FAILED_SHOWN_BY_META, name="variant_needs_hiding"),
        ]

    def __str__(self) -> str:
        return f"{self.product.title} — {self.title}" if self.title else self.retailer_id

    @property
    def message_retailer_id(self) -> str:
        """The id WhatsApp product messages must use (``product_retailer_id``)."""
        return self.meta_retailer_id or self.retailer_id

    def clean(self) -> None:
        if self.pk and self.retailer_id != self._loaded_retailer_id:
            raise ValidationError({"retailer_id": "The Meta retailer id never changes once assigned."})

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_retailer_id = getattr(instance, "retailer_id", None)
        return instance

    def save(self, *args, **kwargs) -> None:
        if not self.retailer_id:
            self.retailer_id = str(self.shopify_variant_id)
        loaded = getattr(self, "_loaded_retailer_id", None)
        if loaded and loaded != self.retailer_id:
            raise ValidationError("The Meta retailer id never changes once assigned.")
        self.shard_key = shard_key_for(self.retailer_id)
        super().save(*args, **kwargs)
        self._loaded_retailer_id = self.retailer_id


class ProductSet(TenantOwned):
    """A Meta product set: mirrors a Shopify collection or a staff-defined filter.

    ``catalog.sync.product_sets`` keeps Meta in step: a set whose ``needs_sync`` is set is
    written (created, updated or deleted) by the next run, once the items it names are in
    Meta. ``retailer_id`` in Meta carries :attr:`meta_marker`, so a set created by a call
    whose answer was lost is found again instead of created twice.
    """

    catalog = models.ForeignKey("catalog.Catalog", on_delete=models.CASCADE, related_name="product_sets")
    name = models.CharField(max_length=255)
    meta_product_set_id = models.CharField(max_length=64, blank=True)
    shopify_collection_id = models.BigIntegerField(null=True, blank=True)
    # A collection set: the retailer ids of its members' live variants (what Meta's filter
    # is built from). A staff-defined set: Meta's filter itself, sent as it is, e.g.
    # {"and": [{"brand": {"eq": "Acme"}}, {"price": {"lt": 2000}}]}.
    filter = models.JSONField(default=dict, blank=True)
    publish_to_shops = models.BooleanField(
        default=False, help_text="Publish this set to the catalog's Meta shop (a collection in the shop)."
    )
    # Members of the mirrored Shopify collection; `filter` is derived from them.
    products = models.ManyToManyField(Product, through="ProductSetMembership", related_name="product_sets", blank=True)
    # From the Shopify collection: Meta's metadata (external_url, description, cover image).
    handle = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True, help_text="Plain text (the collection's HTML without tags).")
    image_url = models.URLField(max_length=1000, blank=True)
    # Collection removed in Shopify (or the set deleted in the admin): the sync engine
    # deletes the Meta set, then the row.
    removed_at = models.DateTimeField(null=True, blank=True)
    # Something Meta should hear about changed since the last write (the engine's queue).
    needs_sync = models.BooleanField(default=True, editable=False)
    changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Hash of the request Meta last accepted: an unchanged set costs no call.
    synced_hash = models.CharField(max_length=64, blank=True, editable=False)
    sync_error = models.TextField(blank=True, editable=False)
    # Ours: the items the filter we sent names. Meta's: product_count as Meta last reported it.
    item_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    meta_product_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    meta_count_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The Meta shop the set is published to, as last sent ("" = not published).
    published_shop_id = models.CharField(max_length=64, blank=True, editable=False)
    # Meta refused to delete the set because it is live in a shop: kept until staff confirm.
    deletion_blocked_at = models.DateTimeField(null=True, blank=True, editable=False)
    live_deletion_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # One writer per set: a run claims the set by a conditional UPDATE of this (a second
    # worker cannot match it), so two runs never both create the same set in Meta.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["catalog", "shopify_collection_id"],
                condition=models.Q(shopify_collection_id__isnull=False),
                name="productset_unique_collection",
            ),
        ]
        indexes = [
            # The engine's queue: the few sets waiting for a write.
            models.Index(fields=["catalog"], condition=models.Q(needs_sync=True), name="productset_needs_sync"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_collection(self) -> bool:
        return self.shopify_collection_id is not None

    @property
    def meta_marker(self) -> str:
        """The ``retailer_id`` of the Meta set: stable, ours, unique in the catalog."""
        if self.is_collection:
            return f"galantis-collection-{self.shopify_collection_id}"
        return f"galantis-set-{self.pk}"


class ProductSetMembership(TenantOwned):
    """A product in a product set (a Shopify collection's membership)."""

    product_set = models.ForeignKey(ProductSet, on_delete=models.CASCADE, related_name="memberships")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="set_memberships")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product_set", "product"], name="productsetmembership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} in {self.product_set_id}"
