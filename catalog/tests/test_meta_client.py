"""Graph API client: wire format, error mapping, retries and the shared throttle.

These run over real HTTP against a scripted loopback server (no mocked ``requests``);
end-to-end behaviour against the sandbox Graph API lives in the sync tests.
"""

import hashlib
import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from catalog.graph_clients import client_for, client_for_connection
from catalog.meta import errors
from catalog.meta.client import GraphClient, RawJSON, encode_params
from catalog.meta.throttle import BATCH, MANAGEMENT, Throttle, category_for, parse_usage
from catalog.models import GraphThrottle
from catalog.tests.factories import CatalogFactory

TOKEN = "EAAsecretTOKENvalue1234567890abcd"


class ScriptedGraph:
    """A loopback HTTP server answering with queued (status, body, headers) triples."""

    def __init__(self) -> None:
        self.responses: list[tuple[int, object, dict]] = []
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                split = urlsplit(self.path)
                outer.requests.append(
                    {
                        "method": self.command,
                        "path": split.path,
                        "query": parse_qs(split.query),
                        "body": body,
                        "content_type": self.headers.get("Content-Type", ""),
                        "authorization": self.headers.get("Authorization", ""),
                    }
                )
                status, payload, headers = outer.responses.pop(0) if outer.responses else (200, {}, {})
                raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/graph"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def add(self, status: int, payload: object, headers: dict | None = None) -> None:
        self.responses.append((status, payload, headers or {}))


@pytest.fixture
def graph(settings):
    settings.META_RETRY_BASE_DELAY = 0
    settings.META_THROTTLE_MAX_DELAY = 0
    server = ScriptedGraph()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def client(graph):
    return GraphClient(TOKEN, base_url=graph.url, api_version="v26.0", throttle_key="catalog:1")


def error_body(code: int, message: str = "boom", **extra: object) -> dict:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Ab1", **extra}}


# -- wire format -------------------------------------------------------------------------


@pytest.mark.django_db
def test_get_uses_versioned_url_and_sends_the_token_in_the_authorization_header(graph, client):
    graph.add(200, {"id": "1", "name": "Cat"})
    assert client.get("1", fields="id,name") == {"id": "1", "name": "Cat"}
    sent = graph.requests[0]
    assert sent["path"] == "/graph/v26.0/1"
    assert sent["authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in sent["query"]
    assert sent["query"]["fields"] == ["id,name"]


@pytest.mark.django_db
def test_appsecret_proof_stays_a_parameter_next_to_the_bearer_token(graph, client, settings):
    settings.META_APP_SECRET = "app-secret"
    graph.add(200, {"id": "1"})
    client.get("1")
    sent = graph.requests[0]
    expected = hmac.new(b"app-secret", TOKEN.encode(), hashlib.sha256).hexdigest()
    assert sent["query"]["appsecret_proof"] == [expected]
    assert sent["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in graph.requests[0]["body"]


@pytest.mark.django_db
def test_a_paging_link_carrying_a_token_is_followed_without_it(graph, client):
    graph.add(200, {"data": [{"id": 1}], "paging": {"next": f"{graph.url}/v26.0/9/products?access_token=OLD&page=2"}})
    graph.add(200, {"data": []})
    assert [row["id"] for row in client.paginate("9/products")] == [1]
    second = graph.requests[1]
    assert second["query"] == {"page": ["2"]}
    assert second["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.django_db
def test_post_form_encodes_lists_and_bools_as_json_like_the_sdk(graph, client):
    graph.add(200, {"handles": ["h1"]})
    client.post(
        "9/items_batch",
        {"item_type": "PRODUCT_ITEM", "allow_upsert": True, "requests": [{"method": "UPDATE", "data": {"id": "a"}}]},
    )
    form = parse_qs(graph.requests[0]["body"])
    assert graph.requests[0]["content_type"] == "application/x-www-form-urlencoded"
    assert form["allow_upsert"] == ["true"]
    assert form["requests"] == ['[{"data":{"id":"a"},"method":"UPDATE"}]']


@pytest.mark.django_db
def test_post_as_json_sends_one_json_object_with_raw_json_embedded_verbatim(graph, client):
    graph.add(200, {"handles": ["h1"]})
    requests = RawJSON('[{"data":{"id":"é"},"method":"UPDATE"}]')
    client.post(
        "9/items_batch",
        {"item_type": "PRODUCT_ITEM", "allow_upsert": True, "requests": requests, "skipped": None},
        as_json=True,
    )
    sent = graph.requests[0]
    assert sent["content_type"] == "application/json; charset=utf-8"
    assert sent["authorization"] == f"Bearer {TOKEN}"  # the token stays out of the body and the URL
    assert "access_token" not in sent["query"] and TOKEN not in sent["body"]
    assert json.loads(sent["body"]) == {
        "item_type": "PRODUCT_ITEM",
        "allow_upsert": True,
        "requests": [{"data": {"id": "é"}, "method": "UPDATE"}],
    }


@pytest.mark.django_db
def test_raw_json_in_a_form_body_is_what_the_sdk_encoding_would_send(graph, client):
    requests = [{"method": "UPDATE", "data": {"id": "a"}}]
    graph.add(200, {"handles": ["h1"]})
    graph.add(200, {"handles": ["h2"]})
    client.post("9/items_batch", {"requests": requests})
    client.post("9/items_batch", {"requests": RawJSON(json.dumps(requests, sort_keys=True, separators=(",", ":")))})
    assert graph.requests[0]["body"] == graph.requests[1]["body"]


def test_encode_params_drops_none_and_keeps_strings():
    assert encode_params({"a": None, "b": "x", "c": {"z": 1, "a": 2}}) == {"b": "x", "c": '{"a":2,"z":1}'}


@pytest.mark.django_db
def test_paginate_follows_cursors(graph, client):
    graph.add(200, {"data": [{"id": 1}, {"id": 2}], "paging": {"cursors": {"after": "c2"}, "next": "http://x/next"}})
    graph.add(200, {"data": [{"id": 3}], "paging": {"cursors": {"after": "c3"}}})
    assert [row["id"] for row in client.paginate("9/products", limit=2)] == [1, 2, 3]
    assert graph.requests[1]["query"]["after"] == ["c2"]
    assert graph.requests[1]["query"]["limit"] == ["2"]


@pytest.mark.django_db
def test_debug_token_returns_the_data_object(graph, client):
    graph.add(200, {"data": {"is_valid": True, "scopes": ["catalog_management"]}})
    assert client.debug_token()["is_valid"] is True
    # Meta takes the inspected token only as input_token; the caller's token is in the header.
    assert graph.requests[0]["query"] == {"input_token": [TOKEN]}
    assert graph.requests[0]["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.django_db
def test_debug_token_authorizes_with_the_app_token_when_configured(graph, client, settings):
    settings.META_APP_ID, settings.META_APP_SECRET = "123", "app-secret"
    graph.add(200, {"data": {"is_valid": False}})
    client.debug_token()
    sent = graph.requests[0]
    assert sent["authorization"] == "Bearer 123|app-secret"
    assert sent["query"] == {"input_token": [TOKEN]}  # no appsecret_proof for an app token


# -- error mapping -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "http_status", "cls"),
    [
        (190, 400, errors.AuthError),
        (102, 400, errors.AuthError),
        (10, 400, errors.PermissionDenied),
        (200, 403, errors.PermissionDenied),
        (80014, 400, errors.RateLimited),
        (80009, 400, errors.RateLimited),
        (4, 400, errors.RateLimited),
        (613, 400, errors.RateLimited),
        (1, 500, errors.TransientError),
        (2, 400, errors.TransientError),
        (None, 502, errors.TransientError),
        (100, 400, errors.InvalidRequest),
        (100, 500, errors.InvalidRequest),
        (368, 400, errors.InvalidRequest),
    ],
)
def test_error_codes_map_to_types(code, http_status, cls):
    error = errors.error_from_envelope({"code": code, "message": "m"}, http_status=http_status)
    assert type(error) is cls


@pytest.mark.django_db
def test_error_inside_a_200_body_is_a_failure(graph, client):
    graph.add(200, error_body(100, "(#100) Invalid parameter", error_subcode=33))
    with pytest.raises(errors.InvalidRequest) as caught:
        client.get("1")
    assert (caught.value.code, caught.value.subcode, caught.value.fbtrace_id) == (100, 33, "Ab1")


@pytest.mark.django_db
def test_success_false_is_a_failure(graph, client):
    graph.add(200, {"success": False})
    with pytest.raises(errors.InvalidRequest):
        client.delete("55")


# -- retries -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_5xx_is_retried_until_success(graph, client):
    graph.add(503, "<html>Service Unavailable</html>")
    graph.add(500, error_body(1, "An unknown error occurred", is_transient=True))
    graph.add(200, {"id": "1"})
    assert client.get("1") == {"id": "1"}
    assert len(graph.requests) == 3


@pytest.mark.django_db
def test_transient_errors_give_up_after_max_retries(graph, client):
    for _ in range(10):
        graph.add(500, error_body(2, "temporary"))
    with pytest.raises(errors.TransientError):
        client.get("1")
    assert len(graph.requests) == client.max_retries + 1


@pytest.mark.django_db
@pytest.mark.parametrize("code", [100, 190, 200, 10])
def test_never_retried_codes(graph, client, code):
    graph.add(400, error_body(code, is_transient=True))
    graph.add(200, {"id": "1"})
    with pytest.raises(errors.GraphAPIError):
        client.get("1")
    assert len(graph.requests) == 1


@pytest.mark.django_db
def test_unreachable_graph_is_transient_and_hides_the_token(settings):
    settings.META_RETRY_BASE_DELAY = 0
    client = GraphClient(TOKEN, base_url="http://127.0.0.1:9/graph", max_retries=1)
    with pytest.raises(errors.TransientError) as caught:
        client.get("1")
    assert TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.django_db
def test_token_never_reaches_the_logs(graph, client, caplog):
    caplog.set_level(logging.DEBUG)
    graph.add(400, error_body(190, "Error validating access token", error_subcode=463))
    with pytest.raises(errors.AuthError):
        client.get("1")
    assert TOKEN not in caplog.text
    assert repr(client).count(TOKEN) == 0


# -- throttle ----------------------------------------------------------------------------


def test_usage_headers_are_decoded_per_bucket():
    usage = parse_usage(
        {
            "x-app-usage": '{"call_count":28,"total_time":25,"total_cputime":25}',
            "X-Business-Use-Case-Usage": json.dumps(
                {
                    "77": [
                        {
                            "type": "catalog_batch",
                            "call_count": 95,
                            "total_cputime": 20,
                            "total_time": 20,
                            "estimated_time_to_regain_access": 3,
                        },
                        {"type": "catalog_management", "call_count": 10, "total_cputime": 40, "total_time": 5},
                    ]
                }
            ),
        }
    )
    assert usage.app_pct == 28
    assert usage.buc_pct == {BATCH: 95, MANAGEMENT: 40}
    assert usage.regain_seconds == {BATCH: 180}


def test_items_batch_counts_against_the_batch_bucket():
    assert category_for("POST", "/graph/v26.0/9/items_batch") == BATCH
    assert category_for("GET", "/graph/v26.0/9/check_batch_request_status") == MANAGEMENT


@pytest.mark.django_db
def test_catalog_rate_limit_blocks_every_worker_for_the_regain_time(graph, client, settings):
    settings.META_MAX_INLINE_WAIT = 5
    header = {
        "X-Business-Use-Case-Usage": json.dumps(
            {
                "77": [
                    {
                        "type": "catalog_batch",
                        "call_count": 100,
                        "total_time": 1,
                        "total_cputime": 1,
                        "estimated_time_to_regain_access": 5,
                    }
                ]
            }
        )
    }
    graph.add(400, error_body(80014, "(#80014) There have been too many calls"), header)
    with pytest.raises(errors.RateLimited) as caught:
        client.post("9/items_batch", {"requests": []})
    assert caught.value.retry_after == pytest.approx(300)
    # Another worker (another client object, same catalog) does not even call Meta.
    other = GraphClient(TOKEN, base_url=graph.url, throttle_key="catalog:1")
    with pytest.raises(errors.RateLimited) as again:
        other.post("9/items_batch", {"requests": []})
    assert again.value.code == 80014 and again.value.retry_after > 250
    assert len(graph.requests) == 1
    # Reads count against the other bucket and still go through.
    graph.add(200, {"data": []})
    other.get("9/check_batch_request_status", handle="h")
    assert len(graph.requests) == 2


@pytest.mark.django_db
def test_rate_limit_without_regain_time_uses_the_default_wait(graph, client, settings):
    settings.META_RATE_LIMIT_BUC_WAIT = 120
    settings.META_MAX_INLINE_WAIT = 5
    graph.add(400, error_body(80009, "(#80009) too many calls"))
    with pytest.raises(errors.RateLimited) as caught:
        client.get("9/products")
    assert caught.value.retry_after == 120
    assert GraphThrottle.objects.get(key="catalog:1:management").block_code == 80009


@pytest.mark.django_db
def test_short_rate_limit_is_waited_out_inline(graph, client, settings):
    settings.META_RATE_LIMIT_APP_WAIT = 0.01
    graph.add(400, error_body(4, "(#4) Application request limit reached"))
    graph.add(200, {"id": "1"})
    assert client.get("1") == {"id": "1"}


@pytest.mark.django_db
def test_high_usage_slows_down_before_the_limit(graph, client, settings):
    settings.META_THROTTLE_MAX_DELAY = 8
    graph.add(
        200,
        {"id": "1"},
        {
            "X-Business-Use-Case-Usage": json.dumps(
                {"77": [{"type": "catalog_management", "call_count": 85, "total_time": 1, "total_cputime": 1}]}
            )
        },
    )
    client.get("1")
    delay, _ = Throttle("catalog:1").delay_for(MANAGEMENT)
    assert delay == pytest.approx(4, abs=0.01)
    assert Throttle("catalog:1").delay_for(BATCH)[0] == 0


@pytest.mark.django_db
def test_items_feeds_sets_and_events_of_a_catalog_spend_one_budget_with_its_business(graph, settings):
    """Any call for the catalog (here an event upload) slows every other call of the catalog and the business."""
    settings.META_THROTTLE_MAX_DELAY = 8
    tenant_catalog = CatalogFactory(meta_catalog_id="555", connection__business_id="77")
    other_catalog = CatalogFactory(
        tenant=tenant_catalog.tenant, connection=tenant_catalog.connection, meta_catalog_id="556"
    )
    events = client_for(tenant_catalog, base_url=graph.url, api_version="v26.0")
    graph.add(
        200,
        {"events_received": 1},
        {
            "X-Business-Use-Case-Usage": json.dumps(
                {"77": [{"type": "catalog_batch", "call_count": 85, "total_time": 1, "total_cputime": 1}]}
            )
        },
    )
    events.post("pixel/events", {"data": "[]"})
    items = client_for(tenant_catalog).throttle
    business = client_for_connection(tenant_catalog.connection).throttle
    sibling = client_for(other_catalog).throttle
    for throttle in (items, business, sibling):
        assert throttle.delay_for(BATCH)[0] == pytest.approx(4, abs=0.01)


@pytest.mark.django_db
def test_a_catalog_batch_block_stops_that_catalog_only(graph, settings):
    shop = CatalogFactory(meta_catalog_id="555", connection__business_id="77")
    other = CatalogFactory(tenant=shop.tenant, connection=shop.connection, meta_catalog_id="556")
    client_for(shop).throttle.record_rate_limit(
        errors.RateLimited("(#80014) too many calls", code=errors.CATALOG_BATCH_RATE_LIMIT, retry_after=600),
        BATCH,
    )
    assert client_for(shop).throttle.delay_for(BATCH)[0] > 500
    assert client_for(other).throttle.delay_for(BATCH)[0] == 0


@pytest.mark.django_db
def test_usage_at_the_stop_line_raises_instead_of_calling(graph, client, settings):
    settings.META_MAX_INLINE_WAIT = 1
    graph.add(200, {"id": "1"}, {"X-App-Usage": '{"call_count":99,"total_time":1,"total_cputime":1}'})
    client.get("1")
    with pytest.raises(errors.RateLimited):
        client.get("1")
    assert len(graph.requests) == 1
