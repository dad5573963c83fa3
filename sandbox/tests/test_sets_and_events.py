"""Product sets, external event sources, catalogs of a business, and the Conversions API."""

from __future__ import annotations

import json
import time

import pytest

from sandbox.graph_accounts import create_sandbox_business
from sandbox.models import Pixel, ServerEvent

from .conftest import batch_request, valid_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_items(push):
    push([batch_request("CREATE", valid_item(f"sku-{n}", price=f"{10 * (n + 1)}.00 USD")) for n in range(3)])


# --- product sets -------------------------------------------------------------------


def test_product_set_with_a_filter_counts_its_items(graph, account, three_items):
    _, created = graph.post(
        f"{account['catalog_id']}/product_sets",
        {"name": "Under 25", "filter": {"price": {"lt": 2500}}, "retailer_id": "collection-1"},
    )
    _, product_set = graph.get(created["id"], fields="name,filter,product_count,retailer_id")
    assert product_set["product_count"] == 2 and json.loads(product_set["filter"]) == {"price": {"lt": 2500}}
    _, items = graph.get(f"{created['id']}/products", fields="retailer_id")
    assert [row["retailer_id"] for row in items["data"]] == ["sku-0", "sku-1"]


def test_product_set_accepts_the_single_quoted_json_from_metas_docs(graph, account, three_items):
    _, created = graph.post(
        f"{account['catalog_id']}/product_sets",
        {
            "name": "Best Sellers",
            "filter": "{ 'retailer_id': {'is_any': ['sku-0', 'sku-2']} }",
            "metadata": "{ 'description':'Our best selling products' }",
        },
        encoding="json",
    )
    _, product_set = graph.get(created["id"], fields="product_count,latest_metadata")
    assert product_set == {"product_count": 2, "latest_metadata": {"description": "Our best selling products"}}


def test_publish_to_shops_makes_a_set_live_and_protects_it(graph, account):
    _, created = graph.post(f"{account['catalog_id']}/product_sets", {"name": "All"})
    _, updated = graph.post(created["id"], {"name": "Everything", "publish_to_shops": [{"shop_id": "1"}]})
    assert updated["id"] == created["id"]
    _, live = graph.get(created["id"], fields="name,live_metadata")
    assert live["name"] == "Everything"
    _, refused = graph.delete(created["id"])
    assert refused["error"]["code"] == 100
    _, deleted = graph.delete(created["id"], allow_live_product_set_deletion="true")
    assert deleted == {"success": True}


def test_product_set_with_a_bad_filter_is_refused(graph, account):
    _, body = graph.post(f"{account['catalog_id']}/product_sets", {"name": "Bad", "filter": {"nope": {"eq": 1}}})
    assert body["error"]["code"] == 100


def test_product_set_needs_a_name(graph, account):
    _, body = graph.post(f"{account['catalog_id']}/product_sets", {"filter": {}})
    assert body["error"]["message"] == "(#100) The parameter name is required"


def test_list_product_sets_by_retailer_id(graph, account):
    graph.post(f"{account['catalog_id']}/product_sets", {"name": "A", "retailer_id": "c-1"})
    graph.post(f"{account['catalog_id']}/product_sets", {"name": "B", "retailer_id": "c-2"})
    _, body = graph.get(f"{account['catalog_id']}/product_sets", retailer_id="c-2", fields="name")
    assert [row["name"] for row in body["data"]] == ["B"]


# --- catalogs and event sources -----------------------------------------------------


def test_owned_product_catalogs_are_paged_with_cursors(graph, account):
    for n in range(3):
        graph.post(f"{account['business_id']}/owned_product_catalogs", {"name": f"Extra {n}", "vertical": "commerce"})
    _, page = graph.get(f"{account['business_id']}/owned_product_catalogs", limit=2, fields="id,name,vertical")
    assert len(page["data"]) == 2 and "next" in page["paging"]
    _, rest = graph.get(f"{account['business_id']}/owned_product_catalogs", after=page["paging"]["cursors"]["after"])
    assert len(rest["data"]) == 2 and "next" not in rest["paging"]


def test_create_catalog_with_a_wrong_vertical(graph, account):
    _, body = graph.post(f"{account['business_id']}/owned_product_catalogs", {"name": "X", "vertical": "shoes"})
    assert body["error"]["code"] == 100


def test_another_business_cannot_be_listed(graph):
    other = create_sandbox_business(name="Other")
    _, body = graph.get(f"{other['business_id']}/owned_product_catalogs")
    assert body["error"]["error_subcode"] == 33


def test_connect_and_disconnect_a_pixel(graph, account):
    path = f"{account['catalog_id']}/external_event_sources"
    assert graph.get(path)[1] == {"data": []}
    assert graph.post(path, {"external_event_sources": [account["pixel_id"]]})[1] == {"success": True}
    _, sources = graph.get(path)
    assert sources["data"] == [{"id": account["pixel_id"], "name": "Test Shop pixel", "source_type": "PIXEL"}]
    assert graph.delete(path, external_event_sources=[account["pixel_id"]])[1] == {"success": True}
    assert graph.get(path)[1] == {"data": []}


def test_another_business_pixel_cannot_be_connected(graph, account):
    other = create_sandbox_business(name="Other")
    _, body = graph.post(
        f"{account['catalog_id']}/external_event_sources", {"external_event_sources": [other["pixel_id"]]}
    )
    assert body["error"]["code"] == 100


# --- Conversions API ----------------------------------------------------------------


def _event(**overrides) -> dict:
    event = {
        "event_name": "Purchase",
        "event_time": int(time.time()),
        "event_id": "order-1",
        "action_source": "website",
        "user_data": {"em": ["a" * 64], "client_user_agent": "Mozilla/5.0"},
        "custom_data": {"currency": "USD", "value": 19.99, "content_ids": ["sku-0"], "content_type": "product"},
    }
    event.update(overrides)
    return event


def test_events_are_recorded_and_deduplicated_by_event_id(graph, account):
    _, first = graph.post(f"{account['pixel_id']}/events", {"data": [_event()]})
    assert first["events_received"] == 1 and first["messages"] == [] and first["fbtrace_id"]
    _, again = graph.post(f"{account['pixel_id']}/events", {"data": [_event(), _event(event_id="order-2")]})
    assert again["events_received"] == 2
    events = {event.event_id: event for event in ServerEvent.objects.all()}
    assert set(events) == {"order-1", "order-2"} and events["order-1"].duplicates == 1
    assert Pixel.objects.get().last_fired_time is not None


def test_same_event_id_with_another_event_name_is_not_a_duplicate(graph, account):
    graph.post(f"{account['pixel_id']}/events", {"data": [_event(), _event(event_name="AddToCart")]})
    assert ServerEvent.objects.count() == 2


def test_events_given_as_json_strings_like_the_sdk_sends_them(graph, account):
    _, body = graph.post(f"{account['pixel_id']}/events", {"data": [json.dumps(_event())]})
    assert body["events_received"] == 1


def test_test_event_code_is_kept(graph, account):
    graph.post(f"{account['pixel_id']}/events", {"data": [_event()], "test_event_code": "TEST123"})
    assert ServerEvent.objects.get().test_event_code == "TEST123"


@pytest.mark.parametrize(
    "overrides",
    [
        {"event_name": ""},
        {"event_time": "yesterday"},
        {"event_time": int(time.time()) - 8 * 86400},
        {"action_source": "carrier_pigeon"},
        {"user_data": {}},
        {"user_data": {"em": ["x"]}},  # a website event without client_user_agent
    ],
)
def test_invalid_events_are_refused_with_code_100(graph, account, overrides):
    status, body = graph.post(f"{account['pixel_id']}/events", {"data": [_event(**overrides)]})
    assert status == 400 and body["error"]["code"] == 100 and body["error"]["error_user_msg"].startswith("Event 0")
    assert not ServerEvent.objects.exists()


def test_events_need_data(graph, account):
    _, body = graph.post(f"{account['pixel_id']}/events", {})
    assert body["error"]["message"] == "(#100) The parameter data is required"


def test_events_may_come_as_a_json_body(graph, account):
    status, body = graph.post(f"{account['pixel_id']}/events", {"data": [_event()]}, encoding="json")
    assert status == 200 and body["events_received"] == 1


@pytest.mark.parametrize(
    "user_data",
    [
        {"em": ["buyer@example.com"], "client_user_agent": "Mozilla/5.0"},
        {"em": "A" * 64, "client_user_agent": "Mozilla/5.0"},  # upper-case hex is not Meta's digest
        {"ph": ["351912345678"], "client_user_agent": "Mozilla/5.0"},
        {"fn": [], "client_user_agent": "Mozilla/5.0"},
    ],
)
def test_unhashed_contact_fields_are_refused(graph, account, user_data):
    status, body = graph.post(f"{account['pixel_id']}/events", {"data": [_event(user_data=user_data)]})
    assert status == 400 and body["error"]["code"] == 100 and "must be hashed" in body["error"]["error_user_msg"]
    assert not ServerEvent.objects.exists()


def test_one_bad_event_refuses_the_whole_request_and_names_it(graph, account):
    _, body = graph.post(f"{account['pixel_id']}/events", {"data": [_event(), _event(event_id="x", event_name="")]})
    assert body["error"]["error_user_msg"].startswith("Event 1") and not ServerEvent.objects.exists()


def test_events_in_the_future_are_refused(graph, account):
    _, body = graph.post(f"{account['pixel_id']}/events", {"data": [_event(event_time=int(time.time()) + 3600)]})
    assert "future" in body["error"]["error_user_msg"]


def test_throttled_pixel_answers_code_4(graph, account):
    from sandbox import faults

    faults.configure(rate_limited=True)
    status, body = graph.post(f"{account['pixel_id']}/events", {"data": [_event()]})
    assert status == 400 and body["error"]["code"] == 4 and body["error"]["is_transient"] is True


def test_a_pixels_hourly_event_quota_is_enforced(graph, account):
    from sandbox import faults

    faults.configure(token=account["access_token"], rate_limit_per_hour=2)
    assert graph.post(f"{account['pixel_id']}/events", {"data": [_event(), _event(event_id="2")]})[0] == 200
    _, body = graph.post(f"{account['pixel_id']}/events", {"data": [_event(event_id="3")]})
    assert body["error"]["code"] == 4


def test_injected_failures_reach_the_events_edge(graph, account):
    from sandbox import faults

    faults.configure(fail_next=1)
    status, body = graph.post(f"{account['pixel_id']}/events", {"data": [_event()]})
    assert status == 500 and body["error"]["is_transient"] is True
    assert graph.post(f"{account['pixel_id']}/events", {"data": [_event()]})[0] == 200
