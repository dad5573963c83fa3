"""factory-boy factories for every catalog model.

Stored secrets are canaries: each ends in a tail (``CANARY_TAILS``) that appears nowhere
else, so a test can assert that no page shows a secret, not even its last four characters.
"""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from catalog.models import (
    Catalog,
    CatalogFeed,
    ImportRun,
    Membership,
    MetaConnection,
    MetaOnboarding,
    Product,
    ProductSet,
    ShopifyStore,
    SyncBatch,
    Tenant,
    Variant,
    VariantEvent,
    WebhookEvent,
)

# The last four characters of every factory-made secret: "~" is in no CSRF token or id.
STORE_TOKEN_TAIL = "~sT1"
WEBHOOK_SECRET_TAIL = "~wH2"
META_TOKEN_TAIL = "~mT3"
CANARY_TAILS = (STORE_TOKEN_TAIL, WEBHOOK_SECRET_TAIL, META_TOKEN_TAIL)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory-boy signature
        if create:
            obj.save()


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda t: t.slug.replace("-", " ").title())


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.STAFF


class ShopifyStoreFactory(DjangoModelFactory):
    class Meta:
        model = ShopifyStore

    tenant = factory.SubFactory(TenantFactory)
    shop_domain = factory.Sequence(lambda n: f"shop-{n}.myshopify.com")
    name = factory.Sequence(lambda n: f"Shop {n}")
    access_token = factory.Sequence(lambda n: f"shpat_canary{n:020d}{STORE_TOKEN_TAIL}")
    webhook_secret = factory.Sequence(lambda n: f"whsec-canary{n:012d}{WEBHOOK_SECRET_TAIL}")
    currency = "USD"


class MetaConnectionFactory(DjangoModelFactory):
    class Meta:
        model = MetaConnection

    tenant = factory.SubFactory(TenantFactory)
    business_id = factory.Sequence(lambda n: str(100000 + n))
    access_token = factory.Sequence(lambda n: f"EAAcanary{n:020d}{META_TOKEN_TAIL}")
    token_last4 = factory.LazyAttribute(lambda c: c.access_token[-4:])
    token_status = MetaConnection.TokenStatus.VALID


class CatalogFactory(DjangoModelFactory):
    class Meta:
        model = Catalog

    tenant = factory.SubFactory(TenantFactory)
    store = factory.SubFactory(ShopifyStoreFactory, tenant=factory.SelfAttribute("..tenant"))
    connection = factory.SubFactory(MetaConnectionFactory, tenant=factory.SelfAttribute("..tenant"))
    meta_catalog_id = factory.Sequence(lambda n: str(900000 + n))
    name = factory.Sequence(lambda n: f"Catalog {n}")
    flow = Catalog.Flow.CREATE
    sync_enabled = True
    # Most sync tests are about the Batch API's own rules and start from items new to Meta;
    # the default (new items created by a feed) has its own tests (test_creation_by_feed.py).
    batch_creation = True


class CatalogFeedFactory(DjangoModelFactory):
    """A shard's primary feed whose items are its own (not adopting after a re-shard)."""

    class Meta:
        model = CatalogFeed

    catalog = factory.SubFactory(CatalogFactory)
    tenant = factory.SelfAttribute("catalog.tenant")
    shard = 0
    meta_feed_id = factory.Sequence(lambda n: str(960000 + n))
    name = factory.LazyAttribute(lambda o: f"Galantis primary feed {o.shard}")
    adopting = False


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    tenant = factory.SubFactory(TenantFactory)
    store = factory.SubFactory(ShopifyStoreFactory, tenant=factory.SelfAttribute("..tenant"))
    shopify_product_id = factory.Sequence(lambda n: 7000000000 + n)
    handle = factory.Sequence(lambda n: f"product-{n}")
    title = factory.Sequence(lambda n: f"Product {n}")
    description_html = "<p>A <b>fine</b> thing.</p>"
    vendor = "Acme"
    product_type = "Shirts"
    status = Product.Status.ACTIVE
    images = factory.LazyAttribute(lambda p: [{"id": 1, "src": f"https://cdn.example.com/{p.handle}.jpg"}])


class VariantFactory(DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    tenant = factory.SelfAttribute("product.tenant")
    catalog = None
    shopify_variant_id = factory.Sequence(lambda n: 44000000000 + n)
    retailer_id = factory.LazyAttribute(lambda v: str(v.shopify_variant_id))
    title = "Default Title"
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    price = Decimal("19.99")
    inventory_quantity = 5


class LiveVariantFactory(VariantFactory):
    """A variant Meta accepted as it is and approved everywhere: live, and ready for WhatsApp.

    Pass ``catalog=`` to put several in one catalog (the product then joins its tenant).
    """

    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..catalog.tenant"))
    catalog = factory.SubFactory(CatalogFactory)
    meta_status = Variant.SyncStatus.SYNCED
    verdict = Variant.Verdict.LIVE
    review_status = "approved"
    visibility = "published"
    channel_review = factory.LazyFunction(lambda: {"whatsapp": "APPROVED"})


class SyncBatchFactory(DjangoModelFactory):
    class Meta:
        model = SyncBatch

    catalog = factory.SubFactory(CatalogFactory)
    tenant = factory.SelfAttribute("catalog.tenant")
    kind = SyncBatch.Kind.ITEMS_BATCH
    state = SyncBatch.State.FINISHED


class ProductSetFactory(DjangoModelFactory):
    class Meta:
        model = ProductSet

    catalog = factory.SubFactory(CatalogFactory)
    tenant = factory.SelfAttribute("catalog.tenant")
    name = factory.Sequence(lambda n: f"Collection {n}")


class ImportRunFactory(DjangoModelFactory):
    class Meta:
        model = ImportRun

    store = factory.SubFactory(ShopifyStoreFactory)
    tenant = factory.SelfAttribute("store.tenant")
    state = ImportRun.State.SUCCEEDED
    products_total = 10
    products_seen = 10
    variants_seen = 25


class WebhookEventFactory(DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    store = factory.SubFactory(ShopifyStoreFactory)
    tenant = factory.SelfAttribute("store.tenant")
    topic = "products/update"
    event_id = factory.Sequence(lambda n: f"event-{n}")
    webhook_id = factory.Sequence(lambda n: f"webhook-{n}")
    dedup_key = factory.LazyAttribute(lambda e: e.event_id)
    body = b'{"id": 1, "title": "A \\u003cb\\u003ebold\\u003c/b\\u003e candle"}'
    headers = factory.LazyAttribute(lambda e: {"X-Shopify-Topic": e.topic})
    state = WebhookEvent.State.PROCESSED


class MetaOnboardingFactory(DjangoModelFactory):
    """A pending onboarding Meta's webhook announced (unmatched: ``tenant=None``)."""

    class Meta:
        model = MetaOnboarding

    tenant = factory.SubFactory(TenantFactory)
    business_id = factory.Sequence(lambda n: str(700000 + n))
    meta_catalog_id = factory.Sequence(lambda n: str(800000 + n))
    pixel_id = factory.Sequence(lambda n: str(600000 + n))
    entry_time = 1_700_000_000
    dedup_key = factory.Sequence(lambda n: f"{n:064d}")
    body_sha256 = "0" * 64


class VariantEventFactory(DjangoModelFactory):
    """One timeline event of a variant (the tenant, product and catalog follow the variant)."""

    class Meta:
        model = VariantEvent

    class Params:
        variant = None  # pass variant=...; only its ids are stored

    tenant_id = factory.LazyAttribute(lambda o: o.variant.tenant_id)
    variant_id = factory.LazyAttribute(lambda o: o.variant.pk)
    product_id = factory.LazyAttribute(lambda o: o.variant.product_id)
    catalog_id = factory.LazyAttribute(lambda o: o.variant.catalog_id)
    kind = VariantEvent.Kind.CHANGED
    at = factory.LazyFunction(timezone.now)
