"""Calculated query cost and the leaky bucket."""

import pytest
from django.utils import timezone

from sandbox.shopify.models import Shop

pytestmark = pytest.mark.django_db(transaction=True)


def test_cost_extension_on_every_response(live_shop):
    body = live_shop.gql("{ products(first: 10) { edges { node { title } } } }")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 12
    assert cost["actualQueryCost"] == 12
    assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}


def test_actual_cost_counts_returned_objects(live_shop):
    body = live_shop.gql('{ products(first: 50, query: "id:1") { edges { node { title } } } }')
    assert body["extensions"]["cost"]["requestedQueryCost"] == 52
    assert body["extensions"]["cost"]["actualQueryCost"] == 2


def test_empty_bucket_answers_throttled(make_live_shop):
    live = make_live_shop(products=2, restore_rate=0.001)
    Shop.objects.filter(pk=live.shop.pk).update(bucket_available=5, bucket_checked_at=timezone.now())
    response = live.post("{ products(first: 10) { edges { node { title } } } }")
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 12


def test_bucket_restores_over_time(make_live_shop):
    live = make_live_shop(products=2, restore_rate=50.0)
    first = live.gql("{ products(first: 100) { edges { node { title } } } }")["extensions"]["cost"]
    second = live.gql("{ shop { name } }")["extensions"]["cost"]
    assert second["throttleStatus"]["currentlyAvailable"] >= first["throttleStatus"]["currentlyAvailable"] - 1


def test_query_over_max_cost_is_refused(live_shop):
    body = live_shop.gql("{ products(first: 250) { edges { node { variants(first: 250) { nodes { id } } } } } }")
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "data" not in body


def test_mutation_costs_ten(live_shop):
    body = live_shop.gql('mutation { productDelete(input: {id: "gid://shopify/Product/1"}) { deletedProductId } }')
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10


def test_a_list_of_objects_costs_one_object_so_actual_never_exceeds_requested(live_shop):
    """`selectedOptions` has no size argument: one object requested, one object charged (not one per option)."""
    body = live_shop.gql(
        "{ products(first: 5) { nodes { variants(first: 10) { nodes { selectedOptions { name } } } } } }"
    )
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 2 + 5 * (1 + 2 + 10 * (1 + 1))
    products = body["data"]["products"]["nodes"]
    assert any(len(v["selectedOptions"]) > 1 for p in products for v in p["variants"]["nodes"])
    assert cost["actualQueryCost"] == 2 + sum(3 + 2 * len(p["variants"]["nodes"]) for p in products)
    assert cost["actualQueryCost"] <= cost["requestedQueryCost"]
