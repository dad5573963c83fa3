"""Fixtures for the Graph API sandbox tests: accounts, an HTTP helper and the official SDK."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from sandbox.graph_accounts import create_sandbox_business
from sandbox.models import AccessToken

VERSION = "v26.0"


def valid_item(retailer_id: str, **overrides: Any) -> dict:
    """An items_batch ``data`` object that passes every check (and triggers no diagnostics)."""
    item = {
        "id": retailer_id,
        "title": f"Organic cotton tee {retailer_id}",
        "description": "A soft organic cotton t-shirt with a relaxed fit, made to last for years.",
        "availability": "in stock",
        "condition": "new",
        "price": "19.99 USD",
        "link": f"https://shop.example.com/products/tee?variant={retailer_id}",
        "image_link": f"https://cdn.example.com/images/{retailer_id}.jpg",
        "brand": "Galantis",
        "google_product_category": "Apparel & Accessories > Clothing > Shirts & Tops",
        "size": "M",
    }
    item.update(overrides)
    return {key: value for key, value in item.items() if value is not None}


def batch_request(method: str, item: dict) -> dict:
    return {"method": method, "data": item}


@pytest.fixture(autouse=True)
def _feed_files_in_tmp(settings, tmp_path):
    """Uploaded feed files go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def account(db) -> dict:
    """A fresh sandbox business: catalog, pixel, commerce settings and a valid token."""
    return create_sandbox_business(name="Test Shop")


@pytest.fixture
def token(account) -> AccessToken:
    return AccessToken.objects.get(token=account["access_token"])


class GraphClient:
    """Plain Graph calls through Django's test client (no SDK), returning (status, json)."""

    def __init__(self, client: Client, token: str) -> None:
        self.client = client
        self.token = token

    def url(self, path: str) -> str:
        return f"/sandbox/graph/{VERSION}/{path.lstrip('/')}"

    def get(self, path: str, token: str | None = None, **params: Any) -> tuple[int, dict]:
        params = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}
        response = self.client.get(self.url(path), {"access_token": token or self.token, **params})
        return response.status_code, response.json()

    def post(
        self, path: str, data: dict | None = None, *, encoding: str = "form", token: str | None = None
    ) -> tuple[int, dict]:
        """POST form-urlencoded (as the SDK does), ``multipart`` or ``json``."""
        data = dict(data or {})
        token = token or self.token
        if encoding == "json":
            body, content_type = json.dumps(data), "application/json"
            response = self.client.post(f"{self.url(path)}?access_token={token}", body, content_type=content_type)
            return response.status_code, response.json()
        data = {k: json.dumps(v) if isinstance(v, dict | list | bool) else v for k, v in data.items()}
        data["access_token"] = token
        if encoding == "multipart":
            response = self.client.post(self.url(path), data)
        else:
            response = self.client.post(
                self.url(path), urlencode(data), content_type="application/x-www-form-urlencoded"
            )
        return response.status_code, response.json()

    def delete(self, path: str, **params: Any) -> tuple[int, dict]:
        params = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}
        query = "&".join(f"{k}={v}" for k, v in {"access_token": self.token, **params}.items())
        response = self.client.delete(f"{self.url(path)}?{query}")
        return response.status_code, response.json()


@pytest.fixture
def graph(client, account) -> GraphClient:
    return GraphClient(client, account["access_token"])


@pytest.fixture
def push(graph, account) -> Callable[..., dict]:
    """Send an items_batch and return the finished status (the delay is 0 in tests)."""

    def push_requests(requests: list[dict], **params: Any) -> dict:
        status, answer = graph.post(
            f"{account['catalog_id']}/items_batch", {"item_type": "PRODUCT_ITEM", "requests": requests, **params}
        )
        assert status == 200, answer
        handle = answer["handles"][0]
        status, result = graph.get(
            f"{account['catalog_id']}/check_batch_request_status", handle=handle, load_ids_of_invalid_requests="true"
        )
        assert status == 200, result
        return result["data"][0]

    return push_requests


@pytest.fixture
def sdk(live_server, transactional_db) -> Iterator[Callable[[str], Any]]:
    """The official facebook-business SDK, unchanged, pointed at the live sandbox."""
    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    original_graph, original_api = FacebookSession.GRAPH, FacebookAdsApi.get_default_api()
    FacebookSession.GRAPH = f"{live_server.url}/sandbox/graph"

    def init(access_token: str) -> FacebookAdsApi:
        return FacebookAdsApi.init(app_id="1", app_secret="sandbox-secret", access_token=access_token, crash_log=False)

    yield init
    FacebookSession.GRAPH = original_graph
    FacebookAdsApi.set_default_api(original_api)
