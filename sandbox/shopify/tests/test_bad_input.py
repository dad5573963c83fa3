"""Malformed requests get Shopify's kind of answer, never a 500 or an HTML page."""

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)

INVALID = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def test_missing_token_is_401(live_shop):
    response = requests.post(live_shop.endpoint, json={"query": "{ shop { name } }"}, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"errors": INVALID}


def test_wrong_token_is_401(live_shop):
    response = live_shop.post("{ shop { name } }", headers={"X-Shopify-Access-Token": "shpat_wrong"})
    assert response.status_code == 401 and response.json() == {"errors": INVALID}


def test_another_shops_token_is_401(make_live_shop):
    first, second = make_live_shop(products=1), make_live_shop(products=1)
    response = first.post("{ shop { name } }", headers={"X-Shopify-Access-Token": second.credentials["access_token"]})
    assert response.status_code == 401


def test_unknown_shop_is_404(live_shop):
    url = live_shop.endpoint.replace(live_shop.shop.domain, "nope.myshopify.com")
    response = requests.post(url, json={"query": "{ shop { name } }"}, timeout=10)
    assert response.status_code == 404 and response.json() == {"errors": "Not Found"}


def test_bad_version_is_404(live_shop):
    response = requests.post(
        live_shop.endpoint.replace("2025-10", "v2"),
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": live_shop.credentials["access_token"]},
        timeout=10,
    )
    assert response.status_code == 404


def test_bad_json_is_400_json(live_shop):
    response = requests.post(
        live_shop.endpoint,
        data=b"{not json",
        timeout=10,
        headers={"X-Shopify-Access-Token": live_shop.credentials["access_token"], "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "errors" in response.json()


def test_missing_query_is_400(live_shop):
    response = requests.post(
        live_shop.endpoint,
        json={"variables": {}},
        timeout=10,
        headers={"X-Shopify-Access-Token": live_shop.credentials["access_token"]},
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"query": "Required parameter missing or invalid"}}


def test_syntax_error_is_200_with_errors(live_shop):
    response = live_shop.post("{ shop { name ")
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body and body["errors"][0]["message"].startswith("Parse error")


def test_unknown_field_uses_shopify_wording(live_shop):
    body = live_shop.gql("{ products(first: 1) { nodes { colour } } }")
    assert body["errors"][0]["message"] == "Field 'colour' doesn't exist on type 'Product'"
    assert body["errors"][0]["extensions"]["code"] == "undefinedField"


def test_wrong_enum_value_is_an_error(live_shop):
    body = live_shop.gql("{ products(first: 1, sortKey: PRICE) { nodes { id } } }")
    assert "data" not in body and body["errors"]


def test_first_over_250_is_an_error(live_shop):
    body = live_shop.gql("{ products(first: 251) { nodes { id } } }")
    assert body["errors"][0]["message"].startswith("The maximum number of items per connection is 250")


def test_connection_without_first_is_an_error(live_shop):
    body = live_shop.gql("{ products { nodes { id } } }")
    assert body["errors"][0]["message"] == "you must provide one of first or last"


def test_garbage_cursor_is_an_error(live_shop):
    body = live_shop.gql('{ products(first: 1, after: "garbage") { nodes { id } } }')
    assert "Invalid cursor" in body["errors"][0]["message"]


def test_malformed_gid_is_an_error_not_500(live_shop):
    body = live_shop.gql('{ product(id: "123") { id } }')
    assert body["errors"][0]["message"] == "Invalid global id '123'"


def test_another_shops_product_is_not_found(make_live_shop):
    first, second = make_live_shop(products=1), make_live_shop(products=1)
    foreign = second.shop.products.first().gid
    body = first.gql("query($id: ID!) { product(id: $id) { id } }", {"id": foreign})
    assert body["data"]["product"] is None


def test_negative_price_is_a_user_error(live_shop):
    variant = live_shop.shop.products.first().variants.first()
    body = live_shop.gql(
        "mutation($p: ID!, $v: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $p, variants: $v)"
        " { productVariants { id } userErrors { field message code } } }",
        {"p": variant.product.gid, "v": [{"id": variant.gid, "price": "-1"}]},
    )
    errors = body["data"]["productVariantsBulkUpdate"]["userErrors"]
    assert errors and errors[0]["code"] == "GREATER_THAN_OR_EQUAL_TO"


def test_get_is_405_json(live_shop):
    response = requests.get(
        live_shop.endpoint, timeout=10, headers={"X-Shopify-Access-Token": live_shop.credentials["access_token"]}
    )
    assert response.status_code == 405 and "errors" in response.json()
