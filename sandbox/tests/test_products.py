"""Reading items: the products edge (filters, error filters, paging) and item nodes."""

from __future__ import annotations

import base64

import pytest

from sandbox.models import ProductItem

from .conftest import batch_request, valid_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog_items(push):
    push(
        [
            batch_request("CREATE", valid_item("tee-s", item_group_id="tee", size="S", price="10.00 USD")),
            batch_request("CREATE", valid_item("tee-m", item_group_id="tee", size="M", price="20.00 USD")),
            batch_request(
                "CREATE",
                valid_item(
                    "mug",
                    title="Stoneware mug",
                    price="35.00 USD",
                    image_link="https://cdn.example.com/broken-mug.jpg",
                    description="Mug",
                    size=None,
                ),
            ),
        ]
    )


def _ids(body: dict) -> list[str]:
    return [row["retailer_id"] for row in body["data"]]


def test_default_fields_are_id_and_name(graph, account, catalog_items):
    _, body = graph.get(f"{account['catalog_id']}/products")
    assert set(body["data"][0]) == {"id", "name"}


@pytest.mark.parametrize(
    ("product_filter", "expected"),
    [
        ({"retailer_id": {"eq": "mug"}}, ["mug"]),
        ({"retailer_id": {"is_any": ["tee-s", "mug"]}}, ["tee-s", "mug"]),
        ({"retailer_id": {"is_not_any": ["tee-s", "mug"]}}, ["tee-m"]),
        ({"retailer_id": {"neq": "mug"}}, ["tee-s", "tee-m"]),
        ({"name": {"i_contains": "STONEWARE"}}, ["mug"]),
        ({"name": {"contains": "Stoneware"}}, ["mug"]),
        ({"price": {"lt": 2000}}, ["tee-s"]),
        ({"price": {"gte": 2000}}, ["tee-m", "mug"]),
        ({"retailer_product_group_id": {"eq": "tee"}}, ["tee-s", "tee-m"]),
        ({"size": {"eq": "M"}}, ["tee-m"]),
        ({"and": [{"retailer_product_group_id": {"eq": "tee"}}, {"price": {"gt": 1500}}]}, ["tee-m"]),
        ({"or": [{"retailer_id": {"eq": "mug"}}, {"size": {"eq": "S"}}]}, ["tee-s", "mug"]),
    ],
)
def test_filter_grammar(graph, account, catalog_items, product_filter, expected):
    _, body = graph.get(f"{account['catalog_id']}/products", fields="retailer_id", filter=product_filter)
    assert _ids(body) == expected


def test_single_quoted_filter_from_metas_docs(graph, account, catalog_items):
    _, body = graph.get(
        f"{account['catalog_id']}/products", fields="retailer_id", filter="{ 'retailer_id': {'is_any': ['mug']} }"
    )
    assert _ids(body) == ["mug"]


def test_error_priority_and_error_type_filters(graph, account, catalog_items):
    _, high = graph.get(f"{account['catalog_id']}/products", fields="retailer_id,errors", error_priority="HIGH")
    assert _ids(high) == ["mug"]
    assert {e["error_type"] for e in high["data"][0]["errors"]} >= {"IMAGE_FETCH_FAILED"}
    _, short = graph.get(
        f"{account['catalog_id']}/products", fields="retailer_id", error_type="PROPERTY_VALUE_STRING_TOO_SHORT"
    )
    assert _ids(short) == ["mug"]
    _, none = graph.get(
        f"{account['catalog_id']}/products", fields="retailer_id", error_priority="HIGH", error_type="MISSING_SIZE"
    )
    assert none["data"] == []


def test_item_errors_have_metas_shape(graph, account, catalog_items):
    _, body = graph.get(f"{account['catalog_id']}/products", fields="errors", filter={"retailer_id": {"eq": "mug"}})
    error = next(e for e in body["data"][0]["errors"] if e["error_type"] == "IMAGE_FETCH_FAILED")
    assert error["error_priority"] == "HIGH" and error["title"] and error["description"]


def test_cursor_paging(graph, account, catalog_items):
    _, first = graph.get(f"{account['catalog_id']}/products", fields="retailer_id", limit=2, summary="true")
    assert _ids(first) == ["tee-s", "tee-m"] and first["summary"] == {"total_count": 3}
    assert "next" in first["paging"] and "previous" not in first["paging"]
    assert "after=" in first["paging"]["next"]
    _, second = graph.get(
        f"{account['catalog_id']}/products", fields="retailer_id", limit=2, after=first["paging"]["cursors"]["after"]
    )
    assert _ids(second) == ["mug"] and "next" not in second["paging"]
    _, back = graph.get(
        f"{account['catalog_id']}/products", fields="retailer_id", limit=2, before=second["paging"]["cursors"]["before"]
    )
    assert _ids(back) == ["tee-s", "tee-m"]


def test_item_node_by_fbid_with_sync_fields(graph, catalog_items):
    item = ProductItem.objects.get(retailer_id="tee-m")
    _, body = graph.get(item.fbid, fields="retailer_id,review_status,visibility,price,product_group{retailer_id}")
    assert body == {
        "retailer_id": "tee-m",
        "review_status": "approved",
        "visibility": "published",
        "price": "$20.00",
        "product_group": {"retailer_id": "tee"},
    }


def test_item_node_by_catalog_and_base64_retailer_id(graph, account, catalog_items):
    encoded = base64.urlsafe_b64encode(b"tee-s").decode()
    _, body = graph.get(f"catalog:{account['catalog_id']}:{encoded}", fields="retailer_id")
    assert body == {"retailer_id": "tee-s"}


def test_update_and_delete_an_item_node(graph, catalog_items):
    item = ProductItem.objects.get(retailer_id="tee-s")
    status, body = graph.post(item.fbid, {"availability": "out of stock", "price": 999, "currency": "USD"})
    assert body == {"success": True}
    item.refresh_from_db()
    assert item.availability == "out of stock" and item.data["price"] == "9.99 USD"
    _, body = graph.delete(item.fbid)
    assert body == {"success": True} and not ProductItem.objects.filter(pk=item.pk).exists()


def test_an_invalid_item_update_is_refused_synchronously(graph, catalog_items):
    item = ProductItem.objects.get(retailer_id="tee-s")
    _, body = graph.post(item.fbid, {"availability": "maybe"})
    assert body["error"]["code"] == 100 and "availability" in body["error"]["error_user_msg"]


def test_create_a_product_with_graph_names(graph, account):
    status, body = graph.post(
        f"{account['catalog_id']}/products",
        {
            "retailer_id": "cap",
            "name": "Wool cap",
            "description": "A warm wool cap for cold mornings, knitted in Portugal.",
            "availability": "in stock",
            "condition": "new",
            "price": 2500,
            "currency": "EUR",
            "url": "https://shop.example.com/cap",
            "image_url": "https://cdn.example.com/cap.jpg",
            "brand": "Galantis",
        },
    )
    assert status == 200
    item = ProductItem.objects.get(retailer_id="cap")
    assert body == {"id": item.fbid} and item.data["price"] == "25.00 EUR"


def test_return_only_approved_products(graph, account, push):
    push([batch_request("CREATE", valid_item("fake", title="Counterfeit designer bag"))])
    _, body = graph.get(f"{account['catalog_id']}/products", fields="retailer_id,review_status")
    assert body["data"][0]["review_status"] == "rejected"
    _, approved = graph.get(f"{account['catalog_id']}/products", return_only_approved_products="true")
    assert approved["data"] == []


def test_catalog_product_count(graph, account, catalog_items):
    _, body = graph.get(account["catalog_id"], fields="product_count")
    assert body["product_count"] == 3


def test_diagnostics_summarise_item_errors(graph, account, catalog_items):
    _, body = graph.get(f"{account['catalog_id']}/diagnostics")
    groups = {group["type"]: group for group in body["data"]}
    assert groups["IMAGE_QUALITY"]["severity"] == "MUST_FIX"
    assert groups["IMAGE_QUALITY"]["number_of_affected_items"] == 1
    assert groups["EVENT_SOURCE_ISSUES"]["affected_entity"] == "product_catalog"
    _, must_fix = graph.get(f"{account['catalog_id']}/diagnostics", severities=["MUST_FIX"])
    assert {group["severity"] for group in must_fix["data"]} == {"MUST_FIX"}


def test_catalog_all_errors_lists_the_taxonomy(graph):
    _, body = graph.get("catalog_all_errors", locale="en_US")
    types = {row["error_type"] for row in body["all"]}
    assert len(types) == 184 and "IMAGE_RESOLUTION_LOW" in types
    assert all({"error_priority", "title", "description", "call_to_action"} <= set(row) for row in body["all"])


def test_commerce_settings_with_the_fields_modifier_from_metas_partner_docs(graph, account):
    _, body = graph.get(account["catalog_id"], fields="commerce_merchant_settings.fields(id,cta)")
    settings = body["commerce_merchant_settings"]
    assert settings["cta"] == "ONSITE_CHECKOUT" and set(settings) == {"id", "cta"}
    _, node = graph.get(settings["id"], fields="id,cta,merchant_status,display_name")
    assert node["merchant_status"] == "ENABLED"


def test_a_catalog_created_through_the_api_has_no_commerce_settings(graph, account):
    _, created = graph.post(f"{account['business_id']}/owned_product_catalogs", {"name": "Ads catalog"})
    _, body = graph.get(created["id"], fields="id,commerce_merchant_settings{id,cta}")
    assert body == {"id": created["id"]}
