"""The products query an importer runs, over real HTTP: shape, pagination, filters, nested variants."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

IMPORT_QUERY = """
query Products($first: Int!, $after: String) {
  shop { name myshopifyDomain currencyCode primaryDomain { url host } }
  products(first: $first, after: $after, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id legacyResourceId title handle descriptionHtml vendor productType status tags
      onlineStoreUrl publishedAt updatedAt createdAt totalInventory
      featuredMedia { preview { image { url altText } } }
      options { name position values }
      variants(first: 100) { pageInfo { hasNextPage endCursor }
        nodes { id legacyResourceId title sku barcode price compareAtPrice position inventoryQuantity
                inventoryPolicy availableForSale inventoryItem { id tracked }
                selectedOptions { name value } image { url altText } updatedAt } }
    } }
  }
}
"""


def test_shop_fields(live_shop):
    body = live_shop.gql("{ shop { name currencyCode myshopifyDomain primaryDomain { url } } }")
    assert body["data"]["shop"] == {
        "name": live_shop.shop.name,
        "currencyCode": "USD",
        "myshopifyDomain": live_shop.shop.domain,
        "primaryDomain": {"url": live_shop.shop.primary_domain_url},
    }


def test_import_query_pages_through_every_product_once(live_shop):
    seen, after, pages = [], None, 0
    while True:
        body = live_shop.gql(IMPORT_QUERY, {"first": 2, "after": after})
        assert "data" in body, body
        connection = body["data"]["products"]
        seen += [edge["node"]["legacyResourceId"] for edge in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert pages == 6
    assert len(seen) == len(set(seen)) == 12
    assert seen == sorted(seen, key=int)


def test_product_node_has_shopify_types(live_shop):
    node = live_shop.gql(IMPORT_QUERY, {"first": 1})["data"]["products"]["edges"][0]["node"]
    assert node["id"] == f"gid://shopify/Product/{node['legacyResourceId']}"
    assert isinstance(node["legacyResourceId"], str)
    assert node["status"] in {"ACTIVE", "DRAFT", "ARCHIVED"}
    assert node["updatedAt"].endswith("Z")
    variant = node["variants"]["nodes"][0]
    assert variant["id"].startswith("gid://shopify/ProductVariant/")
    assert variant["price"].count(".") == 1 and len(variant["price"].split(".")[1]) == 2
    assert variant["inventoryItem"]["id"].startswith("gid://shopify/InventoryItem/")
    assert variant["inventoryPolicy"] in {"DENY", "CONTINUE"}


def test_edges_and_nodes_forms_agree(live_shop):
    body = live_shop.gql("{ products(first: 4) { edges { node { id } } nodes { id } } }")
    products = body["data"]["products"]
    assert [e["node"]["id"] for e in products["edges"]] == [n["id"] for n in products["nodes"]]


def test_search_query_filters_by_status(live_shop):
    body = live_shop.gql('{ products(first: 50, query: "status:draft,archived") { nodes { status } } }')
    statuses = {n["status"] for n in body["data"]["products"]["nodes"]}
    assert statuses <= {"DRAFT", "ARCHIVED"}


def test_updated_at_filter_and_sort(live_shop):
    body = live_shop.gql(
        "{ products(first: 50, sortKey: UPDATED_AT, query: \"updated_at:>'2024-06-01T00:00:00Z'\") "
        "{ nodes { updatedAt } } }"
    )
    stamps = [n["updatedAt"] for n in body["data"]["products"]["nodes"]]
    assert stamps == sorted(stamps)
    assert all(s > "2024-06-01T00:00:00Z" for s in stamps)


def test_products_count(live_shop):
    body = live_shop.gql("{ productsCount { count precision } }")
    assert body["data"]["productsCount"] == {"count": 12, "precision": "EXACT"}


def test_node_and_nodes_lookup(live_shop):
    first = live_shop.gql("{ products(first: 2) { nodes { id title } } }")["data"]["products"]["nodes"]
    body = live_shop.gql(
        "query($id: ID!, $ids: [ID!]!) { node(id: $id) { id ... on Product { title } } "
        "nodes(ids: $ids) { ... on Product { title } } }",
        {"id": first[0]["id"], "ids": [first[1]["id"], "gid://shopify/Product/1"]},
    )
    assert body["data"]["node"] == first[0]
    assert body["data"]["nodes"] == [{"title": first[1]["title"]}, None]
