"""The streamed multipart body of feed uploads: same bytes as requests, constant memory."""

from __future__ import annotations

import io
import tracemalloc

import requests

from catalog.meta.multipart import MultipartBody


def test_body_is_byte_for_byte_what_requests_would_send():
    content = b"id,title\r\n" + b'sku-1,"Tee, ""soft"""\r\n' * 5000
    fields = {"update_only": "true", "name": 'quote " and \\ back'}
    expected = requests.Request(
        "POST", "http://127.0.0.1/", data=fields, files={"file": ("feed.csv", io.BytesIO(content), "text/csv")}
    ).prepare()
    boundary = expected.headers["Content-Type"].split("boundary=", 1)[1]
    body = MultipartBody(fields, {"file": ("feed.csv", io.BytesIO(content), "text/csv")}, boundary=boundary)
    assert len(body) == len(expected.body)
    assert b"".join(iter(lambda: body.read(4093), b"")) == expected.body  # odd reads cross part edges
    assert body.content_type == expected.headers["Content-Type"]


def test_body_reads_the_file_from_its_position_and_never_past_the_announced_length(tmp_path):
    path = tmp_path / "feed.csv"
    path.write_bytes(b"HEADERid\nsku-1\n")
    with path.open("rb") as handle:
        handle.seek(6)
        body = MultipartBody({}, {"file": ("feed.csv", handle)})
        announced = len(body)
        with path.open("ab") as grow:
            grow.write(b"sku-2\n")  # written after the length was announced
        sent = b"".join(body)
    assert len(sent) == announced
    assert b"id\nsku-1\n\r\n" in sent and b"sku-2" not in sent


def test_a_big_file_streams_in_constant_memory(tmp_path):
    path = tmp_path / "big.csv"
    row = b"sku,Organic cotton tee,A soft tee,in stock,new,19.99 USD,https://shop.example.com/p\n"
    with path.open("wb") as out:
        for _ in range(64):
            out.write(row * 4000)  # ~22 MB in all
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with path.open("rb") as handle:
            body = MultipartBody({"update_only": "false"}, {"file": ("big.csv", handle, "text/csv")})
            sent = sum(len(chunk) for chunk in body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent == len(body) > size
    assert peak < 1_000_000, f"{peak} bytes held to stream a {size}-byte file"
