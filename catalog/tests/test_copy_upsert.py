"""upsert_instances: bulk_create(update_conflicts=True) semantics, through COPY on PostgreSQL."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from catalog.copy_upsert import InstanceBuilder, upsert_instances
from catalog.models import Variant

from .factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _new_variant(product, variant_id, **values):
    return Variant(
        tenant_id=product.tenant_id,
        product=product,
        shopify_variant_id=variant_id,
        retailer_id=str(variant_id),
        title=values.pop("title", "Default Title"),
        price=values.pop("price", Decimal("10.00")),
        **values,
    )


def test_inserts_every_column_as_given_with_auto_timestamps():
    product = ProductFactory()
    upsert_instances(
        Variant,
        [
            _new_variant(
                product,
                1,
                options=[{"name": "Size", "value": "L"}],
                compare_at_price=Decimal("12.50"),
                meta_status=Variant.SyncStatus.FAILED,
                last_error="Price is missing\ttab\nnewline \\ backslash",
            ),
            _new_variant(product, 2),
        ],
        unique_fields=["tenant", "shopify_variant_id"],
        update_fields=["title"],
    )
    first = Variant.objects.get(shopify_variant_id=1)
    assert first.options == [{"name": "Size", "value": "L"}]
    assert (first.price, first.compare_at_price) == (Decimal("10.00"), Decimal("12.50"))
    assert first.meta_status == Variant.SyncStatus.FAILED
    assert first.last_error == "Price is missing\ttab\nnewline \\ backslash"
    assert first.created_at is not None and first.updated_at is not None
    second = Variant.objects.get(shopify_variant_id=2)
    assert (second.compare_at_price, second.catalog_id, second.removed_at) == (None, None, None)


def test_a_conflict_overwrites_only_the_update_fields():
    existing = VariantFactory(title="Old", sku="KEEP-ME", price=Decimal("1.00"))
    created_at = existing.created_at
    later = timezone.now() + timedelta(hours=1)
    incoming = _new_variant(existing.product, existing.shopify_variant_id, title="New", sku="IGNORED")
    incoming.tenant_id = existing.tenant_id
    incoming.retailer_id = existing.retailer_id
    with time_machine.travel(later, tick=False):
        upsert_instances(
            Variant,
            [incoming],
            unique_fields=["tenant", "shopify_variant_id"],
            update_fields=["title", "price", "updated_at"],
        )
    existing.refresh_from_db()
    assert (existing.title, existing.sku, existing.price) == ("New", "KEEP-ME", Decimal("10.00"))
    assert existing.created_at == created_at
    assert existing.updated_at == later
    assert Variant.objects.count() == 1


def test_repeated_calls_in_one_transaction_each_write_their_rows():
    product = ProductFactory()
    for variant_id in (1, 2, 3):
        upsert_instances(
            Variant,
            [_new_variant(product, variant_id)],
            unique_fields=["tenant", "shopify_variant_id"],
            update_fields=["title"],
        )
    assert sorted(Variant.objects.values_list("shopify_variant_id", flat=True)) == [1, 2, 3]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_postgresql_writes_through_copy():
    product = ProductFactory()
    rows = [_new_variant(product, variant_id) for variant_id in range(1, 1201)]
    seen = []

    def record(execute, sql, params, many, context):
        seen.append(sql.split()[0])
        return execute(sql, params, many, context)

    # CREATE TEMP TABLE, COPY, INSERT ... SELECT, DROP, where bulk_create would send three
    # 500-row INSERTs; the COPY is visible to execute wrappers (the bench counts through one).
    with connection.execute_wrapper(record):
        upsert_instances(Variant, rows, unique_fields=["tenant", "shopify_variant_id"], update_fields=["title"])
    assert seen == ["CREATE", "COPY", "INSERT", "DROP"]
    assert Variant.objects.filter(product=product).count() == 1200


# -- InstanceBuilder -------------------------------------------------------------------


def _field_values(instance):
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_builder_gives_the_constructors_attributes_and_defaults():
    now = timezone.now()
    values = {
        "tenant_id": 3,
        "product_id": 7,
        "shopify_variant_id": 11,
        "retailer_id": "11",
        "price": Decimal("9.99"),
        "updated_at": now,
    }
    built = InstanceBuilder.for_model(Variant)(**values)
    assert _field_values(built) == _field_values(Variant(**values))
    assert built._state.adding and built._state.db is None


def test_builder_gives_each_instance_its_own_mutable_default():
    build = InstanceBuilder.for_model(Variant)
    first, second = build(shopify_variant_id=1), build(shopify_variant_id=2)
    first.options["Size"] = "L"
    assert second.options == {}


def test_builder_refuses_a_name_the_model_does_not_have():
    with pytest.raises(TypeError, match="no field"):
        InstanceBuilder.for_model(Variant)(product=None)  # the relation, not its attname


def test_built_instances_are_written_like_constructed_ones():
    product = ProductFactory()
    build = InstanceBuilder.for_model(Variant)
    values = {"tenant_id": product.tenant_id, "product_id": product.pk, "title": "Built", "price": Decimal("3.50")}
    upsert_instances(
        Variant,
        [
            build(shopify_variant_id=21, retailer_id="21", **values),
            Variant(shopify_variant_id=22, retailer_id="22", **values),
        ],
        unique_fields=["tenant", "shopify_variant_id"],
        update_fields=["title"],
    )
    built, constructed = (Variant.objects.get(shopify_variant_id=n) for n in (21, 22))
    ignored = {"id", "shopify_variant_id", "retailer_id", "created_at", "updated_at", "shard_key"}
    assert {k: v for k, v in _field_values(built).items() if k not in ignored} == {
        k: v for k, v in _field_values(constructed).items() if k not in ignored
    }


def test_builder_uses_the_constructor_when_init_signals_have_receivers():
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Variant)
    try:
        built = InstanceBuilder(Variant)(shopify_variant_id=5)
    finally:
        post_init.disconnect(receiver, sender=Variant)
    assert seen == [built]


def test_json_values_keep_escapes_unicode_and_big_numbers():
    product = ProductFactory()
    awkward = {
        "Größe": 'L\t"quoted"\\ back\nslash \u2028 😀',
        "huge": 2**70,
        "nested": [None, 1.5, {"k": []}],
    }
    upsert_instances(
        Variant,
        [_new_variant(product, 31, options=awkward), _new_variant(product, 32, options={})],
        unique_fields=["tenant", "shopify_variant_id"],
        update_fields=["options"],
    )
    assert Variant.objects.get(shopify_variant_id=31).options == awkward
    assert Variant.objects.get(shopify_variant_id=32).options == {}
