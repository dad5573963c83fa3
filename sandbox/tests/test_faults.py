"""Behaviour on demand: latency, transient errors, outages, rate limits, usage headers, slow batches."""

from __future__ import annotations

import json
import time

import pytest

from sandbox import faults
from sandbox.graph_accounts import issue_token
from sandbox.models import FaultProfile

from .conftest import batch_request, valid_item

pytestmark = pytest.mark.django_db


def _usage(response) -> dict:
    return json.loads(response["X-Business-Use-Case-Usage"])


def _get(client, account, path: str = "", token: str | None = None):
    url = f"/sandbox/graph/v26.0/{account['catalog_id']}{path}"
    return client.get(url, {"access_token": token or account["access_token"]})


def test_defaults_are_well_behaved(client, account):
    for _ in range(5):
        assert _get(client, account).status_code == 200
    assert not FaultProfile.objects.exists()


def test_every_catalog_call_reports_its_usage(client, account):
    [entry] = _usage(_get(client, account, "/products"))[account["business_id"]]
    assert entry["type"] == "catalog_management" and entry["estimated_time_to_regain_access"] == 0
    assert set(entry) == {"type", "call_count", "total_cputime", "total_time", "estimated_time_to_regain_access"}
    assert entry["call_count"] == 1  # 1 of 20,000 calls an hour, rounded up


def test_call_count_rises_with_every_call(client, account):
    faults.configure(catalog_id=account["catalog_id"], rate_limit_per_hour=10)
    counts = [_usage(_get(client, account))[account["business_id"]][0]["call_count"] for _ in range(3)]
    assert counts == [10, 20, 30]


def test_batch_calls_count_against_catalog_batch(client, graph, account):
    graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [batch_request("CREATE", valid_item("a"))]},
    )
    response = client.post(
        f"/sandbox/graph/v26.0/{account['catalog_id']}/items_batch",
        {"access_token": account["access_token"], "item_type": "PRODUCT_ITEM", "requests": "[]"},
    )
    [entry] = _usage(response)[account["business_id"]]
    assert entry["type"] == "catalog_batch" and entry["call_count"] == 1  # 2 of 200 per hour


def test_forced_rate_limit_answers_80014_on_batches_and_80009_elsewhere(client, graph, account):
    faults.configure(catalog_id=account["catalog_id"], rate_limited=True, regain_access_minutes=5)
    status, body = graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [batch_request("CREATE", valid_item("a"))]},
    )
    assert status == 400 and body["error"]["code"] == 80014
    response = _get(client, account, "/products")
    assert response.json()["error"]["code"] == 80009
    [entry] = _usage(response)[account["business_id"]]
    assert entry["call_count"] >= 100 and entry["estimated_time_to_regain_access"] == 5


def test_hourly_quota_is_enforced_when_set(client, account):
    faults.configure(catalog_id=account["catalog_id"], rate_limit_per_hour=3)
    codes = [_get(client, account).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 400]


def test_fail_next_fails_exactly_n_calls_with_a_transient_500(client, account):
    faults.configure(catalog_id=account["catalog_id"], fail_next=2)
    responses = [_get(client, account) for _ in range(3)]
    assert [r.status_code for r in responses] == [500, 500, 200]
    error = responses[0].json()["error"]
    assert error["code"] == 2 and error["is_transient"] is True


def test_error_rate_one_fails_every_call(client, account):
    faults.configure(catalog_id=account["catalog_id"], error_rate=1.0)
    assert {_get(client, account).status_code for _ in range(3)} == {500}


def test_outage_answers_503_everywhere(client, account):
    faults.configure(outage=True)
    response = _get(client, account)
    assert response.status_code == 503 and response.json()["error"]["is_transient"] is True
    response = client.get("/sandbox/graph/v26.0/me", {"access_token": account["access_token"]})
    assert response.status_code == 503
    faults.reset()
    assert _get(client, account).status_code == 200


def test_latency_is_added(client, account):
    faults.configure(catalog_id=account["catalog_id"], latency_ms=150)
    started = time.monotonic()
    _get(client, account)
    assert time.monotonic() - started >= 0.15


def test_faults_of_one_token_leave_other_tokens_alone(client, account, token):
    other = issue_token(token.system_user)
    faults.configure(token=token, error_rate=1.0)
    assert _get(client, account).status_code == 500
    assert _get(client, account, token=other.token).status_code == 200


def test_faults_of_one_catalog_leave_other_catalogs_alone(client, graph, account):
    status, created = graph.post(f"{account['business_id']}/owned_product_catalogs", {"name": "Second"})
    faults.configure(catalog_id=account["catalog_id"], outage=True)
    assert _get(client, account).status_code == 503
    other = client.get(f"/sandbox/graph/v26.0/{created['id']}", {"access_token": account["access_token"]})
    assert other.status_code == 200


def test_configure_keeps_settings_that_are_left_out(account):
    faults.configure(catalog_id=account["catalog_id"], latency_ms=10)
    profile = faults.configure(catalog_id=account["catalog_id"], error_rate=0.5)
    assert (profile.latency_ms, profile.error_rate) == (10, 0.5)


def test_configure_rejects_nonsense(account):
    with pytest.raises(ValueError):
        faults.configure(catalog_id=account["catalog_id"], error_rate=2)
    with pytest.raises(ValueError):
        faults.configure(revoked=True)
    with pytest.raises(ValueError):
        faults.configure(catalog_id="1399999999999999", outage=True)


def test_slow_batch_processing_per_catalog(graph, account):
    faults.configure(catalog_id=account["catalog_id"], batch_delay=300)
    _, answer = graph.post(
        f"{account['catalog_id']}/items_batch",
        {"item_type": "PRODUCT_ITEM", "requests": [batch_request("CREATE", valid_item("a"))]},
    )
    _, status = graph.get(f"{account['catalog_id']}/check_batch_request_status", handle=answer["handles"][0])
    assert status["data"][0]["status"] in ("dispatched", "started")
    assert graph.get(f"{account['catalog_id']}/products")[1]["data"] == []
