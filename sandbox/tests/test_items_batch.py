"""items_batch and check_batch_request_status: answers, processing, per-line errors."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from sandbox import faults
from sandbox.graph import batches
from sandbox.models import ItemsBatch, ProductItem

from .conftest import batch_request, valid_item

pytestmark = pytest.mark.django_db


def test_items_batch_answers_with_one_opaque_handle(graph, account):
    status, answer = graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [batch_request("UPDATE", valid_item("sku-1"))]},
    )
    assert status == 200
    assert len(answer["handles"]) == 1 and len(answer["handles"][0]) >= 60
    assert answer["validation_status"] == []


def test_valid_items_are_created_and_the_batch_finishes_without_errors(push, account):
    result = push([batch_request("CREATE", valid_item("sku-1")), batch_request("UPDATE", valid_item("sku-2"))])
    assert result["status"] == "finished"
    assert result["errors_total_count"] == 0 and result["errors"] == []
    assert set(ProductItem.objects.values_list("retailer_id", flat=True)) == {"sku-1", "sku-2"}


def test_rows_with_errors_are_reported_per_line_and_not_persisted(push):
    result = push(
        [
            batch_request("CREATE", valid_item("good")),
            batch_request("CREATE", valid_item("no-price", price=None)),
            batch_request("CREATE", valid_item("bad-availability", availability="instock")),
        ]
    )
    assert result["status"] == "finished"
    assert result["errors_total_count"] == 2
    lines = {(error["line"], error["id"]) for error in result["errors"]}
    assert lines == {(2, "no-price"), (3, "bad-availability")}
    assert "price" in result["errors"][0]["message"]
    assert result["ids_of_invalid_requests"] == ["no-price", "bad-availability"]
    assert list(ProductItem.objects.values_list("retailer_id", flat=True)) == ["good"]


def test_enum_values_with_spaces_are_accepted(push):
    result = push([batch_request("CREATE", valid_item("a", availability="available for order", age_group="all ages"))])
    assert result["errors_total_count"] == 0


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"price": "9.99"}, "price format"),
        ({"price": "9,99 USD"}, "price format"),
        ({"price": "9.99 XXY"}, "price format"),
        ({"sale_price": "25.00 USD"}, "lower than the price"),
        ({"link": "ftp://shop.example.com/p"}, "URL Incorrectly Formatted"),
        ({"image_link": "https://user:pw@cdn.example.com/a.jpg"}, "URL Incorrectly Formatted"),
        ({"title": "x" * 201}, "too long"),
        ({"condition": "brand new"}, "condition"),
    ],
)
def test_field_format_errors(push, overrides, fragment):
    result = push([batch_request("CREATE", valid_item("sku", **overrides))])
    assert result["errors_total_count"] == 1
    assert fragment.lower() in result["errors"][0]["message"].lower()


def test_a_batch_where_no_line_can_be_ingested_gets_no_handle(graph, account):
    status, answer = graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [batch_request("CREATE", valid_item("x" * 101))]},
    )
    assert status == 200
    assert answer["handles"] == []
    assert "too long" in answer["validation_status"][0]["errors"][0]["message"]


def test_lines_without_an_id_are_rejected_while_the_others_go_through(push):
    item = valid_item("ignored")
    del item["id"]
    result = push([batch_request("CREATE", item), batch_request("CREATE", valid_item("ok"))])
    assert result["errors_total_count"] == 1 and result["errors"][0]["line"] == 1
    assert ProductItem.objects.filter(retailer_id="ok").exists()


def test_update_is_partial_and_merges_into_the_stored_item(push):
    push([batch_request("CREATE", valid_item("sku"))])
    result = push([batch_request("UPDATE", {"id": "sku", "price": "15.00 USD", "availability": "out of stock"})])
    assert result["errors_total_count"] == 0
    item = ProductItem.objects.get(retailer_id="sku")
    assert item.data["price"] == "15.00 USD" and item.availability == "out of stock"
    assert item.data["brand"] == "Galantis"


def test_update_of_missing_item_without_upsert_is_not_applied(push):
    result = push([batch_request("UPDATE", valid_item("new"))], allow_upsert=False)
    assert result["errors_total_count"] == 1
    assert not ProductItem.objects.exists()


def test_delete_removes_the_item(push):
    push([batch_request("CREATE", valid_item("sku"))])
    result = push([batch_request("DELETE", {"id": "sku"})])
    assert result["errors_total_count"] == 0
    assert not ProductItem.objects.exists()


def test_requests_for_one_item_in_one_batch_apply_in_order(push):
    push([batch_request("CREATE", valid_item("sku")), batch_request("UPDATE", {"id": "sku", "price": "5.00 USD"})])
    assert ProductItem.objects.get(retailer_id="sku").data["price"] == "5.00 USD"


def test_an_item_group_id_naming_another_item_is_a_group_collision(push):
    push([batch_request("CREATE", valid_item("123"))])
    result = push([batch_request("CREATE", valid_item("123-red", item_group_id="123"))])
    assert result["errors_total_count"] == 1
    assert "10800" in result["errors"][0]["message"]


def test_unknown_fields_warn_at_once_and_in_the_status(graph, account):
    item = valid_item("sku", unknown_field="x")
    status, answer = graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [batch_request("CREATE", item)]},
    )
    assert answer["validation_status"] == [
        {
            "retailer_id": "sku",
            "errors": [],
            "warnings": [
                {"message": "Unrecognised field: A request for item sku contains unrecognised field: 'unknown_field'"}
            ],
        }
    ]
    _, result = graph.get(f"{account['catalog_id']}/check_batch_request_status", handle=answer["handles"][0])
    assert result["data"][0]["warnings_total_count"] == 1
    assert ProductItem.objects.filter(retailer_id="sku").exists()


def test_error_priority_high_leaves_out_warnings(push, graph, account):
    status, answer = graph.post(
        f"{account['catalog_id']}/items_batch",
        {
            "item_type": "PRODUCT_ITEM",
            "requests": [
                batch_request("CREATE", valid_item("bad", price=None)),
                batch_request("CREATE", valid_item("warn", google_product_category=None)),
            ],
        },
    )
    handle = answer["handles"][0]
    _, everything = graph.get(f"{account['catalog_id']}/check_batch_request_status", handle=handle)
    _, high = graph.get(f"{account['catalog_id']}/check_batch_request_status", handle=handle, error_priority="HIGH")
    assert everything["data"][0]["warnings_total_count"] == 1
    assert high["data"][0]["errors_total_count"] == 1 and high["data"][0]["warnings_total_count"] == 0


def test_ids_of_invalid_requests_stay_empty_unless_asked(graph, account):
    _, answer = graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [batch_request("CREATE", valid_item("bad", price=None))]},
    )
    _, result = graph.get(f"{account['catalog_id']}/check_batch_request_status", handle=answer["handles"][0])
    assert result["data"][0]["ids_of_invalid_requests"] == []


def test_batch_waits_for_its_delay_and_reports_dispatched_then_started(graph, account):
    faults.configure(catalog_id=account["catalog_id"], batch_delay=60)
    _, answer = graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [batch_request("CREATE", valid_item("sku"))]},
    )
    handle = answer["handles"][0]
    _, result = graph.get(f"{account['catalog_id']}/check_batch_request_status", handle=handle)
    assert result["data"][0]["status"] == "dispatched"
    assert not ProductItem.objects.exists()
    earlier = timezone.timedelta(seconds=40)
    ItemsBatch.objects.filter(handle=handle).update(
        created_at=F("created_at") - earlier, process_after=F("process_after") - earlier
    )
    _, result = graph.get(f"{account['catalog_id']}/check_batch_request_status", handle=handle)
    assert result["data"][0]["status"] == "started"
    ItemsBatch.objects.filter(handle=handle).update(process_after=timezone.now())
    _, result = graph.get(f"{account['catalog_id']}/check_batch_request_status", handle=handle)
    assert result["data"][0]["status"] == "finished"
    assert ProductItem.objects.filter(retailer_id="sku").exists()


def test_a_batch_without_delay_is_processed_in_the_call_keeping_a_sample_of_its_lines(graph, account):
    lines = [batch_request("UPDATE", valid_item(f"sku-{n}")) for n in range(settings.SANDBOX_BATCH_REQUESTS_KEPT + 5)]
    _, answer = graph.post(f"{account['catalog_id']}/items_batch", {"item_type": "PRODUCT_ITEM", "requests": lines})
    # No other call yet: the batch was due on arrival and is already applied.
    batch = ItemsBatch.objects.get(handle=answer["handles"][0])
    assert (batch.status, batch.num_upserted, batch.request_count) == ("finished", len(lines), len(lines))
    assert batch.requests == lines[: settings.SANDBOX_BATCH_REQUESTS_KEPT]
    assert ProductItem.objects.count() == len(lines)


def test_a_batch_failing_while_processed_in_the_call_reports_status_error(graph, account, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("sandbox bug")

    monkeypatch.setattr(batches, "apply_requests", broken)
    status, answer = graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [batch_request("UPDATE", valid_item("sku"))]},
    )
    assert status == 200 and len(answer["handles"]) == 1  # the call itself was accepted, as on Meta
    _, result = graph.get(f"{account['catalog_id']}/check_batch_request_status", handle=answer["handles"][0])
    assert result["data"][0]["status"] == "error"
    assert not ProductItem.objects.exists()


def test_reading_products_also_processes_due_batches(graph, account):
    graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [batch_request("CREATE", valid_item("sku"))]},
    )
    _, products = graph.get(f"{account['catalog_id']}/products", fields="retailer_id")
    assert [p["retailer_id"] for p in products["data"]] == ["sku"]


@pytest.mark.parametrize("encoding", ["form", "multipart", "json"])
def test_items_batch_accepts_every_body_encoding(graph, account, encoding):
    requests = [batch_request("UPDATE", valid_item("sku"))]
    status, answer = graph.post(
        f"{account['catalog_id']}/items_batch", {"item_type": "PRODUCT_ITEM", "requests": requests}, encoding=encoding
    )
    assert status == 200 and len(answer["handles"]) == 1


def test_json_body_takes_requests_as_a_native_array(client, account):
    body = {"access_token": account["access_token"], "item_type": "PRODUCT_ITEM"}
    body["requests"] = [batch_request("UPDATE", valid_item("sku"))]
    response = client.post(
        f"/sandbox/graph/v26.0/{account['catalog_id']}/items_batch",
        body,
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["handles"]


def test_a_processed_batch_keeps_only_its_first_request_lines(push):
    push([batch_request("DELETE", {"id": str(n)}) for n in range(30)])
    batch = ItemsBatch.objects.get()
    assert batch.request_count == 30 and len(batch.requests) == 20


def test_a_json_body_is_accepted_and_stores_the_same_items_as_a_form_body(graph, account):
    """The SDK form-encodes items_batch; other clients (and our sync) send application/json."""
    catalog = account["catalog_id"]
    lines = [
        batch_request("UPDATE", valid_item("sku-1", additional_image_link=["https://cdn.example.com/b.jpg"])),
        batch_request("UPDATE", valid_item("sku-2", price=None)),  # rejected the same way by both
        batch_request("UPDATE", valid_item("sku-3", title="Crème brûlée")),
    ]
    results = {}
    for encoding in ("form", "json"):
        ProductItem.objects.all().delete()
        status, answer = graph.post(
            f"{catalog}/items_batch",
            {"item_type": "PRODUCT_ITEM", "allow_upsert": True, "requests": lines},
            encoding=encoding,
        )
        assert status == 200, answer
        status, result = graph.get(
            f"{catalog}/check_batch_request_status", handle=answer["handles"][0], load_ids_of_invalid_requests="true"
        )
        stored = {item.retailer_id: item.data for item in ProductItem.objects.all()}
        result = result["data"][0]
        results[encoding] = (
            answer["validation_status"],
            result["status"],
            result["errors"],
            result["ids_of_invalid_requests"],
            stored,
        )
    assert results["json"] == results["form"]
    assert set(results["json"][4]) == {"sku-1", "sku-3"}
    assert results["json"][4]["sku-3"]["title"] == "Crème brûlée"
    assert results["json"][3] == ["sku-2"]
