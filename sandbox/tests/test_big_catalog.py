"""A 10,000-item catalog over real HTTP: two full batches, then reads. Bulk processing keeps this
to a few seconds; there is no timing assertion, the suite's own duration is the guard."""

from __future__ import annotations

import json

import pytest
import requests

from sandbox.graph_accounts import create_sandbox_business
from sandbox.models import ProductItem

from .conftest import batch_request, valid_item

pytestmark = pytest.mark.django_db(transaction=True)

ITEMS = 10_000
BATCH = 5_000  # Meta's maximum per items_batch call


def test_ten_thousand_items_in_two_batches(live_server):
    account = create_sandbox_business(name="Big shop")
    base = f"{live_server.url}/sandbox/graph/v26.0/{account['catalog_id']}"
    auth = {"access_token": account["access_token"]}
    handles = []
    for start in range(0, ITEMS, BATCH):
        requests_ = [
            batch_request("UPDATE", valid_item(f"sku-{n:05d}", item_group_id=f"group-{n // 4}"))
            for n in range(start, start + BATCH)
        ]
        answer = requests.post(
            f"{base}/items_batch",
            data={**auth, "item_type": "PRODUCT_ITEM", "allow_upsert": "true", "requests": json.dumps(requests_)},
            timeout=120,
        ).json()
        handles.append(answer["handles"][0])
    for handle in handles:
        status = requests.get(f"{base}/check_batch_request_status", params={**auth, "handle": handle}, timeout=120)
        assert status.json()["data"][0]["status"] == "finished"
        assert status.json()["data"][0]["errors_total_count"] == 0
    catalog = requests.get(base, params={**auth, "fields": "product_count"}, timeout=30).json()
    assert catalog["product_count"] == ITEMS
    page = requests.get(
        f"{base}/products",
        params={**auth, "fields": "retailer_id,price", "limit": 1000, "filter": json.dumps({"price": {"gt": 0}})},
        timeout=30,
    ).json()
    assert len(page["data"]) == 1000 and "next" in page["paging"]
    assert ProductItem.objects.filter(group__isnull=False).count() == ITEMS
