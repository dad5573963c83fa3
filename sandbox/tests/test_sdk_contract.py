"""Contract tests: the official facebook-business SDK, unchanged, against the live sandbox."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from facebook_business.adobjects.productcatalog import ProductCatalog
from facebook_business.adobjects.productitem import ProductItem
from facebook_business.adobjects.productset import ProductSet
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData
from facebook_business.exceptions import FacebookRequestError

from sandbox import faults
from sandbox.graph_accounts import create_sandbox_business

from .conftest import batch_request, valid_item

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sdk_account(sdk):
    account = create_sandbox_business(name="SDK Shop")
    api = sdk(account["access_token"])
    return account, api


def _poll(catalog: ProductCatalog, handle: str) -> dict:
    for _ in range(50):
        statuses = catalog.get_check_batch_request_status(
            params={"handle": handle, "load_ids_of_invalid_requests": True}
        )
        status = statuses[0]
        if status["status"] == "finished":
            return status.export_all_data()
        time.sleep(0.05)
    raise AssertionError("batch never finished")


def test_create_items_batch_and_poll_its_handle(sdk_account):
    account, _ = sdk_account
    catalog = ProductCatalog(account["catalog_id"])
    response = catalog.create_items_batch(
        params={
            "item_type": "PRODUCT_ITEM",
            "allow_upsert": True,
            "requests": [
                batch_request("UPDATE", valid_item("sku-1")),
                batch_request("UPDATE", valid_item("sku-2", price="not a price")),
            ],
        }
    )
    [handle] = response["handles"]
    status = _poll(catalog, handle)
    assert status["errors_total_count"] == 1
    assert status["errors"][0]["line"] == 2 and status["errors"][0]["id"] == "sku-2"
    assert status["ids_of_invalid_requests"] == ["sku-2"]


def test_read_products_with_error_filters(sdk_account):
    account, _ = sdk_account
    catalog = ProductCatalog(account["catalog_id"])
    response = catalog.create_items_batch(
        params={
            "item_type": "PRODUCT_ITEM",
            "requests": [
                batch_request("CREATE", valid_item("fine")),
                batch_request("CREATE", valid_item("bad-image", image_link="https://cdn.example.com/broken.jpg")),
            ],
        }
    )
    _poll(catalog, response["handles"][0])
    products = catalog.get_products(
        fields=[ProductItem.Field.retailer_id, ProductItem.Field.errors, ProductItem.Field.review_status],
        params={"error_priority": ProductItem.ErrorPriority.high},
    )
    found = list(products)
    assert [p[ProductItem.Field.retailer_id] for p in found] == ["bad-image"]
    assert found[0][ProductItem.Field.errors][0]["error_type"] == "IMAGE_FETCH_FAILED"
    assert products.total() == 1
    by_type = catalog.get_products(
        fields=["retailer_id"], params={"error_type": "IMAGE_FETCH_FAILED", "filter": {"retailer_id": {"eq": "fine"}}}
    )
    assert list(by_type) == []


def test_cursor_pagination_walks_every_product(sdk_account):
    account, _ = sdk_account
    catalog = ProductCatalog(account["catalog_id"])
    requests = [batch_request("CREATE", valid_item(f"sku-{n:02d}")) for n in range(7)]
    _poll(catalog, catalog.create_items_batch(params={"item_type": "PRODUCT_ITEM", "requests": requests})["handles"][0])
    products = catalog.get_products(fields=["retailer_id"], params={"limit": 3})
    assert [p["retailer_id"] for p in products] == [f"sku-{n:02d}" for n in range(7)]


def test_product_item_node_by_id_and_by_retailer_id(sdk_account):
    account, _ = sdk_account
    catalog = ProductCatalog(account["catalog_id"])
    requests = [batch_request("CREATE", valid_item("sku/1"))]
    _poll(catalog, catalog.create_items_batch(params={"item_type": "PRODUCT_ITEM", "requests": requests})["handles"][0])
    [listed] = catalog.get_products(fields=["id"])
    item = ProductItem(listed["id"]).api_get(fields=["retailer_id", "price", "currency", "visibility", "review_status"])
    assert item["retailer_id"] == "sku/1" and item["price"] == "$19.99" and item["currency"] == "USD"
    assert item["review_status"] == "approved" and item["visibility"] == "published"
    catalog.update_product("sku/1", price=1500, currency="USD", availability="out of stock")
    item = ProductItem(listed["id"]).api_get(fields=["price", "availability"])
    assert item["price"] == "$15.00" and item["availability"] == "out of stock"


def test_product_sets_create_update_and_delete(sdk_account):
    account, _ = sdk_account
    catalog = ProductCatalog(account["catalog_id"])
    requests = [batch_request("CREATE", valid_item(f"sku-{n}")) for n in range(3)]
    _poll(catalog, catalog.create_items_batch(params={"item_type": "PRODUCT_ITEM", "requests": requests})["handles"][0])
    created = catalog.create_product_set(
        params={
            "name": "Best sellers",
            "filter": {"retailer_id": {"is_any": ["sku-0", "sku-2"]}},
            "metadata": {"description": "Our best sellers"},
        }
    )
    product_set = ProductSet(created["id"]).api_get(fields=["name", "product_count", "filter"])
    assert product_set["product_count"] == 2
    ProductSet(created["id"]).api_update(params={"name": "Top", "publish_to_shops": [{"shop_id": "777"}]})
    sets = list(catalog.get_product_sets(fields=["name"]))
    assert [s["name"] for s in sets] == ["Top"]
    with pytest.raises(FacebookRequestError) as refused:
        ProductSet(created["id"]).api_delete()
    assert refused.value.api_error_code() == 100
    ProductSet(created["id"]).api_delete(params={"allow_live_product_set_deletion": True})
    assert list(catalog.get_product_sets()) == []


def test_debug_token_through_the_sdk(sdk_account):
    account, api = sdk_account
    data = api.call("GET", ("debug_token",), params={"input_token": account["access_token"]}).json()["data"]
    assert data["is_valid"] is True and data["type"] == "SYSTEM_USER" and data["expires_at"] == 0
    assert "catalog_management" in data["scopes"]
    assert {"scope": "catalog_management", "target_ids": [account["catalog_id"]]} in data["granular_scopes"]


def test_expired_token_is_parsed_by_the_sdk_as_a_190_463_error(sdk_account, sdk):
    account, _ = sdk_account
    faults.configure(token=account["access_token"], expires_at=timezone.now() - timezone.timedelta(minutes=1))
    with pytest.raises(FacebookRequestError) as error:
        ProductCatalog(account["catalog_id"]).api_get(fields=["name"])
    assert error.value.api_error_code() == 190
    assert error.value.api_error_subcode() == 463
    assert error.value.api_error_type() == "OAuthException"
    assert error.value.http_status() == 400


def test_unknown_token_is_a_190_error(sdk_account, sdk):
    account, _ = sdk_account
    sdk("EAAnotARealToken")
    with pytest.raises(FacebookRequestError) as error:
        ProductCatalog(account["catalog_id"]).api_get(fields=["name"])
    assert error.value.api_error_code() == 190


def test_transient_fault_is_marked_transient_for_the_sdk(sdk_account):
    account, _ = sdk_account
    faults.configure(catalog_id=account["catalog_id"], fail_next=1)
    with pytest.raises(FacebookRequestError) as error:
        ProductCatalog(account["catalog_id"]).api_get(fields=["name"])
    assert error.value.api_error_code() == 2 and error.value.api_transient_error() is True
    assert ProductCatalog(account["catalog_id"]).api_get(fields=["name"])["name"] == "SDK Shop catalog"


def test_catalog_fields_with_nested_commerce_settings(sdk_account):
    account, _ = sdk_account
    catalog = ProductCatalog(account["catalog_id"]).api_get(
        fields=["name", "product_count", "commerce_merchant_settings{id,cta}"]
    )
    assert catalog["product_count"] == 0
    assert catalog["commerce_merchant_settings"]["cta"] == "ONSITE_CHECKOUT"


def test_conversions_api_event_request(sdk_account):
    account, _ = sdk_account
    event = Event(
        event_name="Purchase",
        event_time=int(time.time()),
        event_id="order-1",
        action_source=ActionSource.WEBSITE,
        user_data=UserData(emails=["buyer@example.com"], client_user_agent="Mozilla/5.0"),
    )
    response = EventRequest(pixel_id=account["pixel_id"], events=[event, event]).execute()
    assert response.events_received == 2
    from sandbox.models import ServerEvent

    stored = ServerEvent.objects.get()
    assert stored.event_id == "order-1" and stored.duplicates == 1
