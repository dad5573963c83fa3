"""Models: every factory builds a valid row, every constraint holds, secrets are encrypted at rest."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from catalog.models import (
    Catalog,
    Membership,
    MetaConnection,
    Product,
    ProductSet,
    ShopifyStore,
    SyncBatch,
    Tenant,
    Variant,
)
from catalog.tests.factories import (
    CatalogFactory,
    MembershipFactory,
    MetaConnectionFactory,
    ProductFactory,
    ProductSetFactory,
    ShopifyStoreFactory,
    SyncBatchFactory,
    TenantFactory,
    UserFactory,
    VariantFactory,
)

ALL_FACTORIES = [
    UserFactory,
    TenantFactory,
    MembershipFactory,
    ShopifyStoreFactory,
    MetaConnectionFactory,
    CatalogFactory,
    ProductFactory,
    VariantFactory,
    SyncBatchFactory,
    ProductSetFactory,
]


@pytest.mark.django_db
@pytest.mark.parametrize("factory", ALL_FACTORIES, ids=lambda f: f.__name__)
def test_factory_builds_a_valid_row(factory):
    obj = factory()
    obj.full_clean()
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_factories_keep_related_rows_in_one_tenant():
    variant = VariantFactory(catalog=CatalogFactory())
    batch = SyncBatchFactory()
    assert variant.tenant_id == variant.product.tenant_id == variant.product.store.tenant_id
    assert (
        batch.tenant_id
        == batch.catalog.tenant_id
        == batch.catalog.store.tenant_id
        == batch.catalog.connection.tenant_id
    )


def violates(make) -> None:
    """Assert that ``make()`` is refused by the database."""
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


@pytest.mark.django_db
class TestConstraints:
    def test_tenant_slug_is_unique(self):
        TenantFactory(slug="acme")
        violates(lambda: Tenant.objects.create(slug="acme", name="Again"))

    def test_membership_is_unique_per_user_and_tenant(self):
        membership = MembershipFactory()
        violates(lambda: Membership.objects.create(user=membership.user, tenant=membership.tenant))

    def test_membership_role_must_be_known(self):
        violates(lambda: MembershipFactory(role="king"))

    def test_shop_domain_is_unique(self):
        ShopifyStoreFactory(shop_domain="a.myshopify.com")
        violates(lambda: ShopifyStoreFactory(shop_domain="a.myshopify.com"))

    def test_store_currency_is_iso(self):
        violates(lambda: ShopifyStoreFactory(currency="usd"))

    def test_one_meta_connection_per_tenant(self):
        existing = MetaConnectionFactory()
        violates(lambda: MetaConnectionFactory(tenant=existing.tenant))

    def test_meta_catalog_id_is_unique_when_set(self):
        CatalogFactory(meta_catalog_id="123")
        violates(lambda: CatalogFactory(meta_catalog_id="123"))

    def test_blank_meta_catalog_ids_may_repeat(self):
        CatalogFactory(meta_catalog_id="")
        CatalogFactory(meta_catalog_id="")
        assert Catalog.objects.filter(meta_catalog_id="").count() == 2

    def test_catalog_shard_count_is_bounded(self):
        violates(lambda: CatalogFactory(shard_count=0))

    def test_catalog_flow_must_be_known(self):
        violates(lambda: CatalogFactory(flow="steal"))

    def test_shopify_product_id_is_unique_per_tenant(self):
        product = ProductFactory()
        violates(lambda: ProductFactory(tenant=product.tenant, shopify_product_id=product.shopify_product_id))

    def test_same_shopify_product_id_in_two_tenants_is_fine(self):
        product = ProductFactory()
        ProductFactory(shopify_product_id=product.shopify_product_id)
        assert Product.objects.filter(shopify_product_id=product.shopify_product_id).count() == 2

    def test_shopify_variant_id_is_unique_per_tenant(self):
        variant = VariantFactory()
        violates(
            lambda: VariantFactory(
                product=ProductFactory(tenant=variant.tenant),
                shopify_variant_id=variant.shopify_variant_id,
                retailer_id="other",
            )
        )

    def test_retailer_id_is_unique_per_catalog(self):
        catalog = CatalogFactory()
        VariantFactory(product=ProductFactory(tenant=catalog.tenant), catalog=catalog, retailer_id="r-1")
        other_tenant_product = ProductFactory()
        violates(lambda: VariantFactory(product=other_tenant_product, catalog=catalog, retailer_id="r-1"))

    def test_retailer_id_is_unique_per_tenant(self):
        variant = VariantFactory(retailer_id="r-1")
        violates(lambda: VariantFactory(product=ProductFactory(tenant=variant.tenant), retailer_id="r-1"))

    def test_retailer_id_is_never_blank(self):
        variant = VariantFactory()
        violates(lambda: Variant.objects.filter(pk=variant.pk).update(retailer_id=""))

    def test_price_is_not_negative(self):
        violates(lambda: VariantFactory(price=Decimal("-1.00")))

    def test_meta_status_must_be_known(self):
        variant = VariantFactory()
        violates(lambda: Variant.objects.filter(pk=variant.pk).update(meta_status="LOST"))

    def test_one_in_flight_batch_per_catalog_shard(self):
        batch = SyncBatchFactory(state=SyncBatch.State.SENT)
        violates(lambda: SyncBatchFactory(catalog=batch.catalog, state=SyncBatch.State.CLAIMED))

    def test_finished_batches_of_a_shard_may_repeat(self):
        batch = SyncBatchFactory(state=SyncBatch.State.FINISHED)
        SyncBatchFactory(catalog=batch.catalog, state=SyncBatch.State.FINISHED)
        SyncBatchFactory(catalog=batch.catalog, state=SyncBatch.State.SENT)
        assert SyncBatch.objects.filter(catalog=batch.catalog).count() == 3

    def test_items_batch_holds_at_most_5000_items(self):
        violates(lambda: SyncBatchFactory(kind=SyncBatch.Kind.ITEMS_BATCH, item_count=5001))

    def test_feeds_may_hold_more_than_5000_items(self):
        assert SyncBatchFactory(kind=SyncBatch.Kind.REPLACE_FEED, item_count=50_000).pk

    def test_collection_is_mirrored_once_per_catalog(self):
        product_set = ProductSetFactory(shopify_collection_id=42)
        violates(lambda: ProductSetFactory(catalog=product_set.catalog, shopify_collection_id=42))

    def test_staff_defined_sets_without_collection_may_repeat(self):
        product_set = ProductSetFactory(shopify_collection_id=None)
        ProductSetFactory(catalog=product_set.catalog, shopify_collection_id=None)
        assert ProductSet.objects.filter(catalog=product_set.catalog).count() == 2


def raw_column(table: str, column: str, pk: int) -> bytes:
    """The column's bytes as stored, read past the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s", [pk])
        value = cursor.fetchone()[0]
    return bytes(value) if not isinstance(value, str) else value.encode()


@pytest.mark.django_db
class TestEncryptionAtRest:
    @pytest.mark.parametrize(
        ("column", "secret"),
        [("access_token", "shpat_plaintextsecret0123456789"), ("webhook_secret", "whsec-plaintext-abcdef")],
    )
    def test_store_secrets_hold_no_plaintext(self, column, secret):
        store = ShopifyStoreFactory(**{column: secret})
        raw = raw_column("catalog_shopifystore", column, store.pk)
        assert secret.encode() not in raw
        assert secret[-8:].encode() not in raw
        assert getattr(ShopifyStore.objects.get(pk=store.pk), column) == secret

    def test_meta_token_holds_no_plaintext(self):
        token = "EAAplaintexttokenvalue0123456789"
        connection_row = MetaConnectionFactory(access_token=token)
        raw = raw_column("catalog_metaconnection", "access_token", connection_row.pk)
        assert token.encode() not in raw and b"EAA" not in raw
        assert MetaConnection.objects.get(pk=connection_row.pk).access_token == token

    def test_same_secret_encrypts_differently_each_time(self):
        first = ShopifyStoreFactory(access_token="shpat_same")
        second = ShopifyStoreFactory(access_token="shpat_same")
        assert raw_column("catalog_shopifystore", "access_token", first.pk) != raw_column(
            "catalog_shopifystore", "access_token", second.pk
        )
