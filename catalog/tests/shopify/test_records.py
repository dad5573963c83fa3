"""Parsing GraphQL nodes and REST webhook bodies into the same records (pure)."""

from dataclasses import asdict
from decimal import Decimal

import pytest

from catalog.shopify import records

from .payloads import OMIT, gql_product, gql_variant, rest_product, rest_variant


def test_graphql_and_rest_shapes_of_one_product_give_the_same_record():
    gql = records.product_from_graphql(gql_product(7, [gql_variant(44, compare_at="25.00")]))
    rest = records.product_from_rest(
        rest_product(7, [rest_variant(44, 7, compare_at="25.00", inventory_management=OMIT)])
    )
    gql_fields, rest_fields = asdict(gql), asdict(rest)
    gql_variants, rest_variants = gql_fields.pop("variants"), rest_fields.pop("variants")
    assert gql_fields == rest_fields
    # Recent webhooks omit inventory tracking: the record says "unknown", upsert keeps the stored value.
    assert rest_variants[0].pop("inventory_tracked") is None
    assert gql_variants[0].pop("inventory_tracked") is True
    assert gql_variants == rest_variants


def test_legacy_resource_id_string_and_webhook_number_are_the_same_id():
    assert records.variant_from_graphql(gql_variant(44000000000021), 1).shopify_variant_id == 44000000000021


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("39.00", Decimal("39.00")),
        ("0.00", Decimal("0.00")),
        ("-5", Decimal("0")),
        ("abc", Decimal("0")),
        (None, Decimal("0")),
        ("1e30", Decimal("999999999999.99")),
        ("NaN", Decimal("0")),
    ],
)
def test_money_never_raises_and_fits_the_column(raw, expected):
    assert records.money(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [(7, 7), (-3, -3), (10**15, 2_147_483_647), ("x", 0), (None, 0)])
def test_quantity_is_clamped_to_the_column(raw, expected):
    assert records.quantity(raw) == expected


def test_compare_at_price_zero_or_missing_is_no_compare_at():
    assert records.optional_money("0.00") is None
    assert records.optional_money(None) is None
    assert records.optional_money("") is None


def test_rest_tags_string_and_graphql_list_agree():
    assert records.tag_list("b, a,  ,c") == ["a", "b", "c"]
    assert records.tag_list(["c", "a", "b"]) == ["a", "b", "c"]


def test_unknown_status_is_treated_as_draft():
    assert records.status("weird") == "DRAFT"
    assert records.status("unlisted") == "UNLISTED"


def test_variant_image_comes_from_image_id_in_webhooks():
    variant = rest_variant(44, 7)
    variant["image_id"] = 39001
    product = rest_product(7, [variant], images=("https://cdn/a.jpg", "https://cdn/b.jpg"))
    record = records.product_from_rest(product)
    assert record.variants[0].image_url == "https://cdn/b.jpg"
    assert [i["src"] for i in record.images] == ["https://cdn/a.jpg", "https://cdn/b.jpg"]


def test_older_payload_with_inventory_management_sets_tracking():
    tracked = rest_variant(44, 7)
    tracked["inventory_management"] = "shopify"
    untracked = rest_variant(45, 7)
    untracked["inventory_management"] = None
    record = records.product_from_rest(rest_product(7, [tracked, untracked]))
    assert [v.inventory_tracked for v in record.variants] == [True, False]


def test_featured_media_comes_first_and_videos_are_skipped():
    node = gql_product(7, [], images=("https://cdn/a.jpg", "https://cdn/b.jpg"))
    node["featuredMedia"] = {"preview": {"image": {"url": "https://cdn/b.jpg"}}}
    node["media"]["nodes"].append({"mediaContentType": "VIDEO", "preview": {"image": {"url": "https://cdn/v.jpg"}}})
    record = records.product_from_graphql(node)
    assert [i["src"] for i in record.images] == ["https://cdn/b.jpg", "https://cdn/a.jpg"]


def test_payload_without_id_gives_no_record():
    assert records.product_from_rest({"title": "no id"}) is None
    assert records.product_from_graphql({"title": "no id"}) is None
