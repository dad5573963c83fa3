"""Mutations that change products, inventory and collections, read back through queries."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_product_update_changes_title_and_bumps_updated_at(live_shop):
    product = live_shop.shop.products.first()
    body = live_shop.gql(
        "mutation($p: ProductUpdateInput!) { productUpdate(product: $p) { product { title updatedAt status } "
        "userErrors { field message } } }",
        {"p": {"id": product.gid, "title": "New name", "status": "DRAFT"}},
    )
    result = body["data"]["productUpdate"]
    assert result["userErrors"] == []
    assert result["product"]["title"] == "New name" and result["product"]["status"] == "DRAFT"
    assert result["product"]["updatedAt"] > product.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_product_update_unknown_id_is_user_error(live_shop):
    body = live_shop.gql(
        'mutation { productUpdate(product: {id: "gid://shopify/Product/9", title: "x"}) '
        "{ product { id } userErrors { field message } } }"
    )
    assert body["data"]["productUpdate"] == {
        "product": None,
        "userErrors": [{"field": ["id"], "message": "Product does not exist"}],
    }


def test_inventory_set_quantities_updates_variant_quantity(live_shop):
    variant = live_shop.shop.products.first().variants.first()
    location = live_shop.gql("{ locations(first: 1) { nodes { id } } }")["data"]["locations"]["nodes"][0]["id"]
    body = live_shop.gql(
        "mutation($i: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $i) {"
        " inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }"
        " userErrors { code message } } }",
        {
            "i": {
                "name": "available",
                "reason": "correction",
                "ignoreCompareQuantity": True,
                "quantities": [{"inventoryItemId": variant.inventory_item_gid, "locationId": location, "quantity": 42}],
            }
        },
    )
    assert body["data"]["inventorySetQuantities"]["userErrors"] == []
    read = live_shop.gql(
        "query($id: ID!) { productVariant(id: $id) { inventoryQuantity inventoryItem { "
        'inventoryLevels(first: 5) { nodes { quantities(names: ["available"]) { quantity } } } } } }',
        {"id": variant.gid},
    )["data"]["productVariant"]
    assert read["inventoryQuantity"] == 42
    assert read["inventoryItem"]["inventoryLevels"]["nodes"][0]["quantities"] == [{"quantity": 42}]


def test_publish_and_unpublish_toggle_online_store_url(live_shop):
    product = live_shop.shop.products.filter(status="ACTIVE").first()
    query = "query($id: ID!) { product(id: $id) { onlineStoreUrl publishedAt } }"
    live_shop.gql(
        "mutation($id: ID!) { publishableUnpublish(id: $id, input: [{}]) { userErrors { message } } }",
        {"id": product.gid},
    )
    assert live_shop.gql(query, {"id": product.gid})["data"]["product"] == {"onlineStoreUrl": None, "publishedAt": None}
    live_shop.gql(
        "mutation($id: ID!) { publishablePublish(id: $id, input: [{}]) { userErrors { message } } }",
        {"id": product.gid},
    )
    assert live_shop.gql(query, {"id": product.gid})["data"]["product"]["onlineStoreUrl"].endswith(product.handle)


def test_smart_collection_membership_follows_tags(live_shop):
    product = live_shop.shop.products.first()
    body = live_shop.gql(
        'mutation { collectionCreate(input: {title: "Neon", ruleSet: {appliedDisjunctively: false, '
        'rules: [{column: TAG, relation: EQUALS, condition: "neon"}]}}) { collection { id } userErrors { message } } }'
    )
    collection_id = body["data"]["collectionCreate"]["collection"]["id"]
    live_shop.gql(
        "mutation($p: ProductUpdateInput!) { productUpdate(product: $p) { userErrors { message } } }",
        {"p": {"id": product.gid, "tags": ["neon"]}},
    )
    read = live_shop.gql(
        "query($id: ID!) { collection(id: $id) { ruleSet { rules { column condition } } productsCount { count } "
        "products(first: 5) { nodes { id } } } }",
        {"id": collection_id},
    )["data"]["collection"]
    assert read["productsCount"]["count"] == 1
    assert read["products"]["nodes"] == [{"id": product.gid}]


def test_product_collections_connection(live_shop):
    body = live_shop.gql("{ products(first: 5) { nodes { collections(first: 5) { nodes { handle } } } } }")
    handles = {c["handle"] for n in body["data"]["products"]["nodes"] for c in n["collections"]["nodes"]}
    assert "featured" in handles


def test_variant_pagination_inside_a_product(make_live_shop):
    live = make_live_shop(products=1)
    product = live.shop.products.first()
    total = product.variants.count()
    seen, after = [], None
    while True:
        page = live.gql(
            "query($id: ID!, $after: String) { product(id: $id) { variants(first: 1, after: $after) "
            "{ pageInfo { hasNextPage endCursor } nodes { id } } } }",
            {"id": product.gid, "after": after},
        )["data"]["product"]["variants"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == total


def test_product_create_and_delete(live_shop):
    body = live_shop.gql(
        'mutation { productCreate(product: {title: "Fresh"}) { product { id handle variants(first: 1)'
        " { nodes { title } } } userErrors { message } } }"
    )
    created = body["data"]["productCreate"]["product"]
    assert created["handle"] == "fresh" and created["variants"]["nodes"] == [{"title": "Default Title"}]
    body = live_shop.gql(
        "mutation($id: ID!) { productDelete(input: {id: $id}) { deletedProductId } }", {"id": created["id"]}
    )
    assert body["data"]["productDelete"]["deletedProductId"] == created["id"]
