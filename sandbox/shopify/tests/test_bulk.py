"""Bulk operations end to end over HTTP: run, poll, download JSONL, join children by __parentId."""

import io
import json

import pytest
import requests

from sandbox.shopify import generator
from sandbox.shopify.bulk import run_to_completion
from sandbox.shopify.models import BulkOperation

pytestmark = pytest.mark.django_db(transaction=True)

RUN = """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
  bulkOperation { id status } userErrors { field message code } } }"""
POLL = """{ currentBulkOperation { id status errorCode objectCount rootObjectCount fileSize url partialDataUrl } }"""


def _run(live, query=generator.BULK_PRODUCTS_QUERY):
    return live.gql(RUN, {"q": query})["data"]["bulkOperationRunQuery"]


def _poll_until_done(live):
    for _ in range(20):
        current = live.gql(POLL)["data"]["currentBulkOperation"]
        if current["status"] == "COMPLETED":
            return current
    raise AssertionError(current)


def test_bulk_query_completes_with_downloadable_jsonl(live_shop):
    started = _run(live_shop)
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "CREATED"
    done = _poll_until_done(live_shop)
    assert done["id"] == started["bulkOperation"]["id"]
    assert int(done["rootObjectCount"]) == 12 and int(done["objectCount"]) > 12
    response = requests.get(done["url"], timeout=30)  # no auth header, like a signed storage URL
    assert response.status_code == 200
    assert int(done["fileSize"]) == len(response.content)
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == int(done["objectCount"])


def test_the_result_file_expires(live_shop, settings):
    _run(live_shop)
    url = _poll_until_done(live_shop)["url"]
    settings.SANDBOX_SHOPIFY_BULK_RESULT_TTL_SECONDS = 0  # as if 7 days had passed
    assert requests.get(url, timeout=30).status_code == 404


def test_children_point_at_parents_that_came_first(live_shop):
    _run(live_shop)
    lines = [
        json.loads(line) for line in requests.get(_poll_until_done(live_shop)["url"], timeout=30).text.splitlines()
    ]
    seen = set()
    for line in lines:
        if "__parentId" in line:
            assert line["__parentId"] in seen
        else:
            assert line["id"].startswith("gid://shopify/Product/")
            assert "variants" not in line and "media" not in line  # nested connections become lines
            seen.add(line["id"])
    variants = [line for line in lines if line["id"].startswith("gid://shopify/ProductVariant/")]
    assert len(variants) == live_shop.shop.products.values("variants").count()


def test_bulk_output_matches_generator_jsonl(live_shop):
    """The generator's direct JSONL writer is byte-identical to what the sandbox exports."""
    _run(live_shop)
    exported = requests.get(_poll_until_done(live_shop)["url"], timeout=30).text
    out = io.StringIO()
    generator.write_bulk_jsonl(
        out, products=12, id_base=live_shop.shop.id_base, storefront_url=live_shop.shop.storefront_url
    )
    assert exported == out.getvalue()


def test_node_polling_and_status_progression(live_shop, settings):
    settings.SANDBOX_SHOPIFY_BULK_DELAY_SECONDS = 3600
    gid = _run(live_shop)["bulkOperation"]["id"]
    body = live_shop.gql("query($id: ID!) { node(id: $id) { ... on BulkOperation { status url } } }", {"id": gid})
    assert body["data"]["node"] == {"status": "CREATED", "url": None}
    settings.SANDBOX_SHOPIFY_BULK_DELAY_SECONDS = 0
    body = live_shop.gql("query($id: ID!) { node(id: $id) { ... on BulkOperation { status } } }", {"id": gid})
    assert body["data"]["node"]["status"] == "COMPLETED"


def test_second_bulk_query_while_running_is_refused(live_shop, settings):
    settings.SANDBOX_SHOPIFY_BULK_DELAY_SECONDS = 3600
    _run(live_shop)
    second = _run(live_shop)
    assert second["bulkOperation"] is None
    assert second["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"


@pytest.mark.parametrize(
    "query,fragment",
    [
        ("{ shop { name } }", "at least one connection"),
        ("{ products { edges { node { idd } } } }", "doesn't exist"),
        ("{ products { edges { node { id", "Parse error"),
        (
            "{ products { edges { node { collections { edges { node { products { edges { node { id } } } } } } } } } }",
            "nesting depth",
        ),
    ],
)
def test_invalid_bulk_queries_get_user_errors(live_shop, query, fragment):
    result = _run(live_shop, query)
    assert result["bulkOperation"] is None
    assert fragment in result["userErrors"][0]["message"]
    assert result["userErrors"][0]["code"] == "INVALID"


def test_empty_result_has_null_url(live_shop):
    _run(live_shop, '{ products(query: "title:nothing-matches-this") { edges { node { id } } } }')
    done = _poll_until_done(live_shop)
    assert done["url"] is None and done["objectCount"] == "0"


def test_slices_resume_where_they_stopped(live_shop):
    """A run split into many slices writes each root object exactly once."""
    from sandbox.shopify import bulk

    _run(live_shop)
    op = BulkOperation.objects.get(shop=live_shop.shop)
    bulk.ROOT_CHUNK, original = 5, bulk.ROOT_CHUNK
    try:
        op.status = BulkOperation.Status.RUNNING
        op.save()
        while op.status == BulkOperation.Status.RUNNING:
            op = bulk.advance(op, slice_seconds=0.0001)
    finally:
        bulk.ROOT_CHUNK = original
    ids = [json.loads(line)["id"] for line in bulk.result_path(op).read_text().splitlines() if "__parentId" not in line]
    assert len(ids) == len(set(ids)) == 12


def test_run_to_completion_helper(live_shop):
    _run(live_shop)
    op = run_to_completion(BulkOperation.objects.get(shop=live_shop.shop))
    assert op.status == BulkOperation.Status.COMPLETED and op.root_object_count == 12
