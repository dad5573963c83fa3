"""What a paged import costs against Shopify's rate limit (the sandbox's calculated query cost).

A paged import is paced by the leaky bucket: Shopify reserves a page's requested cost before
running it and keeps its actual cost, refilling at the restore rate. So the requested cost of a
page decides whether the bucket can take it at all, and the actual cost per product how many
products a second an import can fetch (bench/README.md, "Paged Shopify import").
"""

from __future__ import annotations

import pytest
from django.conf import settings
from graphql import get_operation_ast, parse

from catalog.models import ImportRun
from catalog.shopify import queries
from catalog.shopify.client import ShopifyClient
from catalog.shopify.importer import import_store

# The 21 generated products below cost 1,003 points (47.8 each) with every field the mapping
# reads; 55 each when a list of objects (selectedOptions, a video's sources) was priced per
# element, 50.5 before the field-mapping fields (5119b12). A field that costs a point a variant
# more lands above this.
MAX_ACTUAL_POINTS_PER_PRODUCT = 50


def _requested(document: str, variables: dict) -> int:
    from sandbox.shopify.graphql.cost import CostCalculator
    from sandbox.shopify.graphql.executor import get_schema

    return CostCalculator(get_schema(), get_operation_ast(parse(document)), {}, variables).requested()


def test_a_products_page_leaves_half_the_default_bucket():
    from sandbox.shopify.graphql.cost import SINGLE_QUERY_MAX_COST

    page = _requested(queries.PRODUCTS, {"first": queries.PRODUCTS_PAGE})
    assert page <= SINGLE_QUERY_MAX_COST
    # The bucket must hold the whole requested cost: a page near the bucket's size waits for a
    # full bucket every time and leaves no burst for the pages after it.
    assert page <= settings.SANDBOX_SHOPIFY_BUCKET_SIZE / 2
    assert _requested(queries.PRODUCT, {}) <= SINGLE_QUERY_MAX_COST
    assert _requested(queries.PRODUCT_VARIANTS, {"first": queries.VARIANTS_PAGE}) <= SINGLE_QUERY_MAX_COST


@pytest.mark.django_db(transaction=True)
def test_a_paged_import_stays_within_the_default_bucket(connected):
    """21 products (3 pages) against a shop with the default bucket and restore rate, real HTTP."""
    c = connected(21, restore_rate=settings.SANDBOX_SHOPIFY_RESTORE_RATE)
    assert c.shop.bucket_size == settings.SANDBOX_SHOPIFY_BUCKET_SIZE
    client = ShopifyClient.for_store(c.store)
    costs: list[dict] = []
    post = client.session.post

    def recording_post(url, json=None, **kwargs):
        response = post(url, json=json, **kwargs)
        cost = response.json()["extensions"]["cost"]
        if "query Products(" in (json or {}).get("query", ""):
            costs.append(cost)
        return response

    client.session.post = recording_post
    run = import_store(c.store, client=client)

    assert run.state == ImportRun.State.SUCCEEDED and run.products_seen == 21
    assert [cost["actualQueryCost"] is not None for cost in costs] == [True] * 3  # never THROTTLED
    assert all(cost["actualQueryCost"] <= cost["requestedQueryCost"] for cost in costs)
    assert sum(cost["actualQueryCost"] for cost in costs) / 21 <= MAX_ACTUAL_POINTS_PER_PRODUCT
    # The pages and the variant pages of the bigger products spend ~1,150 of the 2,000 points: no
    # wait (a page sized near the bucket, or a cheap query paced by a page's cost, waited).
    assert client.throttle_waits == 0, f"waited {client.throttle_waited_seconds:.1f}s"
