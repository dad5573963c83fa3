"""Feeds: create, upload (multipart file or url), replace vs update_only, sessions and errors."""

from __future__ import annotations

import csv
import io
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.utils import timezone

from sandbox import faults
from sandbox.models import FeedUpload, ProductItem

from .conftest import batch_request, valid_item

pytestmark = pytest.mark.django_db

COLUMNS = ["id", "title", "description", "availability", "condition", "price", "link", "image_link", "brand"]


def feed_csv(rows: list[dict], columns: list[str] = COLUMNS, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=delimiter, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def feed_id(graph, account) -> str:
    status, body = graph.post(f"{account['catalog_id']}/product_feeds", {"name": "Primary feed"})
    assert status == 200
    return body["id"]


def upload(client, account, feed_id: str, content: bytes, name: str = "feed.csv", **params) -> dict:
    response = client.post(
        f"/sandbox/graph/v26.0/{feed_id}/uploads",
        {"access_token": account["access_token"], "file": SimpleUploadedFile(name, content), **params},
    )
    assert response.status_code == 200, response.json()
    return response.json()


def session(graph, upload_id: str) -> dict:
    return graph.get(upload_id)[1]


def test_create_and_list_feeds(graph, account, feed_id):
    _, body = graph.get(f"{account['catalog_id']}/product_feeds", fields="id,name,product_count")
    assert body["data"] == [{"id": feed_id, "name": "Primary feed", "product_count": 0}]


def test_replace_upload_creates_items_and_counts_them(client, graph, account, feed_id):
    content = feed_csv([valid_item(f"sku-{n}") for n in range(3)])
    upload_id = upload(client, account, feed_id, content)["id"]
    result = session(graph, upload_id)
    assert result["num_detected_items"] == 3 and result["num_persisted_items"] == 3
    assert result["num_invalid_items"] == 0 and result["num_deleted_items"] == 0
    assert "end_time" in result and result["input_method"] == "Manual Upload"
    assert ProductItem.objects.filter(feed__isnull=False).count() == 3


def test_an_upload_that_breaks_off_keeps_what_it_read_and_deletes_nothing(client, graph, account, feed_id, settings):
    first = upload(client, account, feed_id, feed_csv([valid_item(f"sku-{n}") for n in range(4)]))["id"]
    assert session(graph, first)["num_persisted_items"] == 4
    settings.SANDBOX_FEED_FAIL_AFTER_ROWS = 2  # the fault
    upload_id = upload(client, account, feed_id, feed_csv([valid_item(f"new-{n}") for n in range(4)]))["id"]
    result = session(graph, upload_id)
    assert "end_time" in result and result["error_count"] == 1
    assert (result["num_detected_items"], result["num_persisted_items"], result["num_deleted_items"]) == (2, 2, 0)
    assert ProductItem.objects.count() == 6  # the four earlier items stay: a broken replace deletes nothing
    _, errors = graph.get(f"{upload_id}/errors", error_priority="HIGH")
    assert errors["data"][0]["severity"] == "fatal"


def test_replace_upload_deletes_its_own_items_missing_from_the_file(client, graph, account, feed_id, push):
    push([batch_request("CREATE", valid_item("from-batch"))])
    upload(client, account, feed_id, feed_csv([valid_item("a"), valid_item("b")]))
    upload_id = upload(client, account, feed_id, feed_csv([valid_item("a")]))["id"]
    assert session(graph, upload_id)["num_deleted_items"] == 1
    # "b" was the feed's; the Batch API's item belongs to no feed, so no replace upload deletes it
    # (docs/meta-ingestion-rules.md, "Creation by feed", Case B: why items are created by a feed).
    assert set(ProductItem.objects.values_list("retailer_id", flat=True)) == {"a", "from-batch"}


def test_an_item_belongs_to_the_feed_that_listed_it_last(client, graph, account, feed_id, push):
    push([batch_request("CREATE", valid_item("from-batch"))])
    upload(client, account, feed_id, feed_csv([valid_item("a"), valid_item("from-batch")]))  # the feed adopts it
    upload_id = upload(client, account, feed_id, feed_csv([valid_item("a")]))["id"]
    assert session(graph, upload_id)["num_deleted_items"] == 1
    assert set(ProductItem.objects.values_list("retailer_id", flat=True)) == {"a"}


def test_update_only_upload_never_deletes_and_updates_partially(client, graph, account, feed_id):
    upload(client, account, feed_id, feed_csv([valid_item("a"), valid_item("b")]))
    content = feed_csv([{"id": "a", "price": "5.00 USD"}], columns=["id", "price"])
    upload_id = upload(client, account, feed_id, content, update_only="true")["id"]
    result = session(graph, upload_id)
    assert result["num_deleted_items"] == 0 and result["num_persisted_items"] == 1
    assert ProductItem.objects.get(retailer_id="a").data["price"] == "5.00 USD"
    assert ProductItem.objects.get(retailer_id="a").data["brand"] == "Galantis"
    assert ProductItem.objects.filter(retailer_id="b").exists()


def test_invalid_rows_are_reported_and_keep_their_item(client, graph, account, feed_id):
    upload(client, account, feed_id, feed_csv([valid_item("a"), valid_item("b")]))
    rows = [valid_item("a", price="free"), valid_item("b")]
    upload_id = upload(client, account, feed_id, feed_csv(rows))["id"]
    result = session(graph, upload_id)
    assert result["num_invalid_items"] == 1 and result["error_count"] == 1 and result["num_deleted_items"] == 0
    assert ProductItem.objects.filter(retailer_id="a").exists()
    _, errors = graph.get(f"{upload_id}/errors", error_priority="HIGH")
    [error] = errors["data"]
    assert error["severity"] == "fatal" and error["total_count"] == 1 and "price" in error["description"]
    _, samples = graph.get(f"{error['id']}/samples")
    assert samples["data"][0]["retailer_id"] == "a" and samples["data"][0]["row_number"] == 2


def test_warnings_are_not_high_priority(client, graph, account, feed_id):
    content = feed_csv([valid_item("a")], columns=[*COLUMNS, "colour"])
    upload_id = upload(client, account, feed_id, content.replace(b"\r\n", b"\r\n", 1))["id"]
    _, high = graph.get(f"{upload_id}/errors", error_priority="HIGH")
    _, everything = graph.get(f"{upload_id}/errors")
    assert high["data"] == []
    assert {e["severity"] for e in everything["data"]} == {"warning"}


def test_tsv_with_default_currency(client, account, feed_id, graph):
    feed = graph.post(feed_id, {"default_currency": "EUR"})
    assert feed[1] == {"success": True}
    content = feed_csv([valid_item("a", price="12.50")], delimiter="\t")
    session(graph, upload(client, account, feed_id, content, name="feed.tsv")["id"])
    assert ProductItem.objects.get(retailer_id="a").data["price"] == "12.50 EUR"


def test_end_time_is_absent_while_the_upload_is_processing(client, graph, account, feed_id):
    faults.configure(catalog_id=account["catalog_id"], batch_delay=600)
    upload_id = upload(client, account, feed_id, feed_csv([valid_item("a")]))["id"]
    result = session(graph, upload_id)
    assert "end_time" not in result and "start_time" in result
    FeedUpload.objects.update(process_after=F("start_time"))
    assert "end_time" in session(graph, upload_id)
    assert ProductItem.objects.filter(retailer_id="a").exists()


def test_feed_without_id_column_is_a_fatal_error(client, graph, account, feed_id):
    content = feed_csv([valid_item("a")], columns=["title", "price"])
    upload_id = upload(client, account, feed_id, content)["id"]
    _, errors = graph.get(f"{upload_id}/errors", error_priority="HIGH")
    assert "id column" in errors["data"][0]["description"]


def test_list_uploads_of_a_feed(client, graph, account, feed_id):
    first = upload(client, account, feed_id, feed_csv([valid_item("a")]))["id"]
    second = upload(client, account, feed_id, feed_csv([valid_item("a")]))["id"]
    _, body = graph.get(f"{feed_id}/uploads", fields="id")
    assert [row["id"] for row in body["data"]] == [second, first]


def test_upload_needs_a_file_or_url(graph, feed_id):
    _, body = graph.post(f"{feed_id}/uploads", {})
    assert body["error"]["code"] == 100


@pytest.fixture
def file_server(tmp_path):
    """A local HTTP server for url uploads (tests stay on loopback)."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_upload_from_a_url(graph, feed_id, file_server):
    directory, base_url = file_server
    (directory / "catalog.csv").write_bytes(feed_csv([valid_item("remote")]))
    _, body = graph.post(f"{feed_id}/uploads", {"url": f"{base_url}/catalog.csv"})
    result = session(graph, body["id"])
    assert result["url"].endswith("/catalog.csv") and result["num_persisted_items"] == 1
    assert ProductItem.objects.filter(retailer_id="remote").exists()


def test_unreachable_url_is_a_fatal_upload_error(graph, feed_id, file_server):
    _, base_url = file_server
    _, body = graph.post(f"{feed_id}/uploads", {"url": f"{base_url}/missing.csv"})
    _, errors = graph.get(f"{body['id']}/errors")
    assert "404" in errors["data"][0]["description"]
    assert session(graph, body["id"])["num_persisted_items"] == 0


def test_feed_products_edge(client, graph, account, feed_id):
    upload(client, account, feed_id, feed_csv([valid_item("a")]))
    _, body = graph.get(f"{feed_id}/products", fields="retailer_id,product_feed{id}")
    assert body["data"] == [{"retailer_id": "a", "product_feed": {"id": feed_id}}]


def test_upload_start_time_is_a_graph_timestamp(client, graph, account, feed_id):
    upload_id = upload(client, account, feed_id, feed_csv([valid_item("a")]))["id"]
    start = session(graph, upload_id)["start_time"]
    assert start.startswith(str(timezone.now().year)) and start.endswith("+0000")


# -- processing in slices: a poll never waits for a whole big file ------------------------------


@pytest.fixture
def one_chunk_per_call(settings, monkeypatch):
    """Each call that touches the catalog ingests one chunk of two rows, then answers."""
    settings.SANDBOX_FEED_SLICE_SECONDS = 0
    monkeypatch.setattr("sandbox.graph.feeds.ROW_CHUNK", 2)


def poll_until_done(graph, upload_id: str, limit: int = 20) -> tuple[dict, list[dict]]:
    seen = []
    for _ in range(limit):
        seen.append(session(graph, upload_id))
        if "end_time" in seen[-1]:
            return seen[-1], seen
    raise AssertionError(f"upload {upload_id} still processing after {limit} polls")


def test_a_big_upload_is_ingested_over_several_polls_with_the_same_outcome(
    client, graph, account, feed_id, one_chunk_per_call
):
    rows = [valid_item(f"sku-{n}") for n in range(5)]
    rows.insert(1, valid_item("bad-1", price="free"))
    rows.append(valid_item("bad-2", price="gratis"))
    upload_id = upload(client, account, feed_id, feed_csv(rows))["id"]
    result, polls = poll_until_done(graph, upload_id)
    # 7 rows, 2 per call: the first three polls answer "still processing" with partial counts.
    progress = [("end_time" in p, p["num_detected_items"]) for p in polls]
    assert progress == [(False, 2), (False, 4), (False, 6), (True, 7)]
    assert result["num_persisted_items"] == 5 and result["num_invalid_items"] == 2 and result["error_count"] == 2
    assert set(ProductItem.objects.values_list("retailer_id", flat=True)) == {f"sku-{n}" for n in range(5)}
    _, errors = graph.get(f"{upload_id}/errors", error_priority="HIGH")
    assert sorted((e["total_count"], "price" in e["description"]) for e in errors["data"]) == [(1, True), (1, True)]
    _, warnings = graph.get(f"{upload_id}/errors", error_priority="MEDIUM")
    [short_description] = warnings["data"]  # one message, counted across every slice
    assert short_description["total_count"] == 5


def test_a_replace_upload_in_slices_deletes_missing_items_only_once_it_is_done(
    client, graph, account, feed_id, one_chunk_per_call
):
    upload(client, account, feed_id, feed_csv([valid_item(rid) for rid in "abcde"]))
    poll_until_done(graph, FeedUpload.objects.get().fbid)
    upload_id = upload(client, account, feed_id, feed_csv([valid_item(rid) for rid in "abc"]))["id"]
    first = session(graph, upload_id)
    assert "end_time" not in first
    assert set(ProductItem.objects.values_list("retailer_id", flat=True)) == set("abcde")
    result, _ = poll_until_done(graph, upload_id)
    assert result["num_deleted_items"] == 2
    assert set(ProductItem.objects.values_list("retailer_id", flat=True)) == set("abc")


def test_a_slice_in_progress_is_not_taken_by_a_concurrent_poll(client, graph, account, feed_id, one_chunk_per_call):
    upload_id = upload(client, account, feed_id, feed_csv([valid_item(rid) for rid in "abcd"]))["id"]
    FeedUpload.objects.update(slice_lease_until=timezone.now() + timezone.timedelta(seconds=60))
    assert session(graph, upload_id)["num_detected_items"] == 0  # someone else holds the slice
    FeedUpload.objects.update(slice_lease_until=timezone.now() - timezone.timedelta(seconds=1))
    assert session(graph, upload_id)["num_detected_items"] == 2  # a lease that ran out is taken over
