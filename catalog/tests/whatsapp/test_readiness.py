"""Readiness for WhatsApp product messages: the reasons per variant, the one query condition, product sets."""

from decimal import Decimal

import pytest

from catalog.models import ProductSetMembership, Variant
from catalog.tests.factories import CatalogFactory, LiveVariantFactory, ProductFactory, ProductSetFactory
from catalog.whatsapp import readiness as rd

pytestmark = pytest.mark.django_db


def reasons(variant: Variant) -> list[str]:
    variant = rd.with_relations(Variant.objects.filter(pk=variant.pk)).get()
    return rd.reasons_not_ready(variant)


def in_ready_query(variant: Variant) -> bool:
    return rd.ready_variants().filter(pk=variant.pk).exists()


# -- one variant ---------------------------------------------------------------------------------


def test_a_live_variant_in_stock_is_ready():
    variant = LiveVariantFactory()
    assert reasons(variant) == []
    assert in_ready_query(variant)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"meta_status": "PENDING", "verdict": ""}, rd.PENDING),
        (
            {"meta_status": "FAILED", "verdict": "", "last_error": "The product has no brand."},
            rd.FAILED.format(error="The product has no brand."),
        ),
        ({"excluded": True, "verdict": ""}, rd.EXCLUDED),
        (
            {"review_status": "rejected", "review_rejection_reasons": ["ITEM_NOT_APPROVED"], "verdict": "REJECTED"},
            rd.REVIEW_REJECTED.format(why="ITEM_NOT_APPROVED"),
        ),
        ({"review_status": "pending", "verdict": "IN_REVIEW"}, rd.IN_REVIEW),
        ({"review_status": "", "verdict": "IN_REVIEW"}, rd.IN_REVIEW),
        ({"visibility": "staging", "verdict": "NOT_VISIBLE"}, rd.HIDDEN),
        ({"image_fetch_status": "FETCH_FAILED", "verdict": "NOT_VISIBLE"}, rd.IMAGE_NOT_FETCHED),
        ({"channel_review": {"whatsapp": "REJECTED"}, "verdict": "NOT_VISIBLE"}, rd.WHATSAPP_REJECTED),
        ({"inventory_quantity": 0}, rd.OUT_OF_STOCK),
        ({"price": Decimal("0")}, rd.NO_PRICE.format(price=Decimal("0.00"))),
    ],
    ids=[
        "pending",
        "failed",
        "excluded",
        "rejected",
        "in-review",
        "not-read",
        "hidden",
        "image",
        "whatsapp",
        "out-of-stock",
        "no-price",
    ],
)
def test_a_variant_not_ready_says_why_and_the_query_agrees(changes, reason):
    variant = LiveVariantFactory(**changes)
    assert reason in reasons(variant)
    assert not in_ready_query(variant)


def test_a_variant_without_any_image_is_not_ready():
    variant = LiveVariantFactory(product=ProductFactory(images=[]), image_url="")
    assert rd.NO_IMAGE in reasons(variant)
    assert not in_ready_query(variant)


def test_a_variant_image_alone_is_enough():
    catalog = CatalogFactory()
    variant = LiveVariantFactory(
        catalog=catalog,
        product=ProductFactory(tenant=catalog.tenant, images=[]),
        image_url="https://cdn.example.com/v.jpg",
    )
    assert reasons(variant) == [] and in_ready_query(variant)


def test_a_variant_in_no_catalog_is_not_ready():
    variant = LiveVariantFactory()
    Variant.objects.filter(pk=variant.pk).update(catalog=None)
    assert rd.NO_CATALOG in reasons(variant)
    assert not in_ready_query(variant)


@pytest.mark.parametrize("changes", [{"inventory_policy": "CONTINUE"}, {"inventory_tracked": False}])
def test_selling_on_at_zero_stock_is_ready(changes):
    variant = LiveVariantFactory(inventory_quantity=0, **changes)
    assert reasons(variant) == [] and in_ready_query(variant)


def test_every_reason_is_given_at_once():
    variant = LiveVariantFactory(visibility="staging", verdict="NOT_VISIBLE", inventory_quantity=0)
    assert reasons(variant) == [rd.HIDDEN, rd.OUT_OF_STOCK]


# -- product sets ----------------------------------------------------------------------------------


def collection(catalog, variants_by_product: list[list[Variant]]):
    product_set = ProductSetFactory(catalog=catalog, shopify_collection_id=555)
    for variants in variants_by_product:
        ProductSetMembership.objects.create(tenant=catalog.tenant, product_set=product_set, product=variants[0].product)
    return product_set


def test_a_collection_with_ready_and_not_ready_variants_counts_both_and_says_why():
    catalog = CatalogFactory()
    ready = LiveVariantFactory.create_batch(3, catalog=catalog)
    out = LiveVariantFactory(catalog=catalog, inventory_quantity=0)
    pending = LiveVariantFactory(catalog=catalog, meta_status="PENDING", verdict="")
    LiveVariantFactory(catalog=catalog)  # in the catalog, not in the collection
    product_set = collection(catalog, [[v] for v in [*ready, out, pending]])

    summary = rd.set_readiness(product_set)

    assert (summary.total, summary.ready, summary.not_ready_count) == (5, 3, 2)
    assert {e.variant.pk: e.reasons for e in summary.not_ready} == {
        out.pk: (rd.OUT_OF_STOCK,),
        pending.pk: (rd.PENDING,),
    }
    assert summary.messages == {"product": "", "product_list": "", "catalog_message": ""}


def test_a_collection_with_nothing_ready_says_so_for_every_message_kind():
    catalog = CatalogFactory()
    out = LiveVariantFactory(catalog=catalog, inventory_quantity=0)
    summary = rd.set_readiness(collection(catalog, [[out]]))
    assert summary.ready == 0
    assert all("None of the set's items is ready" in why for why in summary.messages.values())


def test_a_staff_set_by_retailer_ids_is_read_from_its_filter():
    catalog = CatalogFactory()
    chosen, other = LiveVariantFactory.create_batch(2, catalog=catalog)
    product_set = ProductSetFactory(catalog=catalog, filter={"retailer_id": {"is_any": [chosen.retailer_id]}})
    variants, unreadable = rd.variants_of_set(product_set)
    assert unreadable == "" and list(variants) == [chosen]


def test_a_staff_set_by_product_group_is_read_from_its_filter():
    catalog = CatalogFactory()
    chosen = LiveVariantFactory(catalog=catalog)
    LiveVariantFactory(catalog=catalog)
    product_set = ProductSetFactory(
        catalog=catalog, filter={"retailer_product_group_id": {"eq": str(chosen.product.shopify_product_id)}}
    )
    assert list(rd.variants_of_set(product_set)[0]) == [chosen]


def test_a_staff_set_by_brand_cannot_be_read_here_and_says_so():
    catalog = CatalogFactory()
    LiveVariantFactory(catalog=catalog)
    product_set = ProductSetFactory(catalog=catalog, filter={"brand": {"eq": "Acme"}})
    summary = rd.set_readiness(product_set)
    assert summary.unreadable.startswith("Galantis cannot evaluate this set's filter")
    assert summary.messages["product_list"] == summary.unreadable


@pytest.mark.parametrize("size", [2, 12])
def test_set_readiness_costs_the_same_queries_at_any_size(size, django_assert_num_queries):
    catalog = CatalogFactory()
    variants = [LiveVariantFactory(catalog=catalog, inventory_quantity=i % 2) for i in range(size)]
    product_set = collection(catalog, [[v] for v in variants])
    with django_assert_num_queries(2):  # the counts, then the not-ready rows with their product and catalog
        summary = rd.set_readiness(product_set)
        assert all(e.reasons for e in summary.not_ready)
