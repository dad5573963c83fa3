"""Malformed requests get Meta's own kind of error answer: JSON, never an HTML page or a 500."""

from __future__ import annotations

import json

import pytest

from .conftest import batch_request, valid_item

pytestmark = pytest.mark.django_db


def _error(response) -> dict:
    assert response["Content-Type"].startswith("application/json")
    return response.json()["error"]


def test_bad_json_in_requests(graph, account):
    status, body = graph.post(f"{account['catalog_id']}/items_batch", {"item_type": "PRODUCT_ITEM", "requests": "[{"})
    assert status == 400 and body["error"]["code"] == 100
    assert "requests" in body["error"]["message"]


def test_bad_json_body(client, account):
    response = client.post(
        f"/sandbox/graph/v26.0/{account['catalog_id']}/items_batch?access_token={account['access_token']}",
        "{not json",
        content_type="application/json",
    )
    assert response.status_code == 400 and _error(response)["code"] == 100


def test_missing_item_type(graph, account):
    _, body = graph.post(
        f"{account['catalog_id']}/items_batch", {"requests": [batch_request("CREATE", valid_item("a"))]}
    )
    assert body["error"]["message"] == "(#100) The parameter item_type is required"


def test_wrong_item_type_enum(graph, account):
    _, body = graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT", "requests": [batch_request("CREATE", valid_item("a"))]},
    )
    assert body["error"]["code"] == 100 and "item_type" in body["error"]["message"]


def test_requests_must_be_an_array(graph, account):
    _, body = graph.post(f"{account['catalog_id']}/items_batch", {"item_type": "PRODUCT_ITEM", "requests": {"a": 1}})
    assert body["error"]["code"] == 100


def test_oversize_batch_is_refused(graph, account):
    requests = [batch_request("DELETE", {"id": str(n)}) for n in range(5001)]
    status, body = graph.post(
        f"{account['catalog_id']}/items_batch", {"item_type": "PRODUCT_ITEM", "requests": requests}
    )
    assert status == 400 and body["error"]["code"] == 100
    assert "5000" in body["error"]["message"]


def test_a_batch_of_exactly_5000_is_accepted(graph, account):
    requests = [batch_request("DELETE", {"id": str(n)}) for n in range(5000)]
    status, body = graph.post(
        f"{account['catalog_id']}/items_batch", {"item_type": "PRODUCT_ITEM", "requests": requests}
    )
    assert status == 200 and len(body["handles"]) == 1


def test_invalid_method_in_a_request_line(graph, account):
    _, body = graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [{"method": "UPSERT", "data": valid_item("a")}]},
    )
    assert body["handles"] == [] and "UPSERT" in body["validation_status"][0]["errors"][0]["message"]


def test_wrong_enum_in_a_query_parameter(graph, account):
    _, body = graph.get(f"{account['catalog_id']}/products", error_priority="URGENT")
    assert body["error"]["code"] == 100 and "error_priority" in body["error"]["message"]


def test_unknown_field_in_fields(graph, account):
    _, body = graph.get(account["catalog_id"], fields="id,colour")
    assert body["error"]["message"] == "(#100) Tried accessing nonexisting field (colour) on node type (ProductCatalog)"


def test_fields_syntax_error(graph, account):
    _, body = graph.get(account["catalog_id"], fields="id,commerce_merchant_settings{id")
    assert body["error"]["code"] == 100


def test_unknown_object_id(graph):
    status, body = graph.get("1399999999999999")
    assert status == 400 and body["error"]["error_subcode"] == 33


def test_garbage_object_id(graph):
    _, body = graph.get("not-an-id")
    assert body["error"]["code"] == 100


def test_item_by_unknown_retailer_id(graph, account):
    _, body = graph.get(f"catalog:{account['catalog_id']}:bm9wZQ==")
    assert "catalog:" in body["error"]["message"] and body["error"]["error_subcode"] == 33


def test_unknown_edge(graph, account):
    _, body = graph.get(f"{account['catalog_id']}/nonsense")
    assert body["error"] == {**body["error"], "code": 2500, "message": "Unknown path components: /nonsense"}


def test_unsupported_method_on_a_known_edge(graph, account):
    _, body = graph.delete(f"{account['catalog_id']}/items_batch")
    assert body["error"]["code"] == 100 and "Unsupported delete request" in body["error"]["message"]


def test_too_many_path_components(client, account):
    response = client.get(f"/sandbox/graph/v26.0/{account['catalog_id']}/products/extra/more")
    assert _error(response)["code"] == 2500


def test_bad_filter_json(graph, account):
    _, body = graph.get(f"{account['catalog_id']}/products", filter="{retailer_id")
    assert body["error"]["code"] == 100


def test_filter_with_an_unknown_operator(graph, account):
    _, body = graph.get(f"{account['catalog_id']}/products", filter={"retailer_id": {"like": "a"}})
    assert body["error"]["code"] == 100 and "like" in body["error"]["message"]


def test_bad_cursor(graph, account):
    _, body = graph.get(f"{account['catalog_id']}/products", after="!!!")
    assert body["error"]["code"] == 100


def test_unknown_batch_handle(graph, account):
    _, body = graph.get(f"{account['catalog_id']}/check_batch_request_status", handle="nope")
    assert body["error"]["code"] == 100


def test_missing_handle(graph, account):
    _, body = graph.get(f"{account['catalog_id']}/check_batch_request_status")
    assert body["error"]["message"] == "(#100) The parameter handle is required"


def test_a_bug_in_a_handler_is_a_json_code_1_error(graph, account, monkeypatch):
    from sandbox.graph.handlers import catalogs

    def broken(call):
        raise RuntimeError("boom")

    monkeypatch.setattr(catalogs, "catalog_node", broken)
    status, body = graph.get(account["catalog_id"])
    assert status == 500 and body["error"]["code"] == 1 and body["error"]["is_transient"] is True


def test_root_path_is_json(client):
    response = client.get("/sandbox/graph")
    assert response.status_code == 400 and "error" in json.loads(response.content)
