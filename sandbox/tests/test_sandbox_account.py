"""``manage.py sandbox_account``: one JSON object with working sandbox accounts."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sandbox.models import AccessToken, CommerceMerchantSettings, Pixel, ProductCatalog

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("sandbox_account", *args, stdout=out)
    return out.getvalue()


def test_json_output_is_one_object_with_the_meta_account(settings):
    settings.SITE_URL = "http://127.0.0.1:8102"
    output = _run("--json", "--products", "0")
    account = json.loads(output)
    meta = account["meta"]
    assert set(meta) == {"graph_url", "api_version", "business_id", "catalog_id", "pixel_id", "access_token"}
    assert meta["graph_url"] == "http://127.0.0.1:8102/sandbox/graph" and meta["api_version"] == "v26.0"
    assert set(account["shopify"]) >= {"shop_domain", "admin_url", "api_version", "access_token", "webhook_secret"}
    assert account["shopify"]["admin_url"].startswith("http://127.0.0.1:8102/sandbox/shopify/")
    catalog = ProductCatalog.objects.get()
    assert catalog.fbid == meta["catalog_id"] and not catalog.items.exists()
    assert CommerceMerchantSettings.objects.get(catalog=catalog).cta == "ONSITE_CHECKOUT"
    assert Pixel.objects.get().fbid == meta["pixel_id"]
    assert AccessToken.objects.get(token=meta["access_token"]).state() == AccessToken.State.VALID


def test_readable_summary_without_json():
    output = _run("--products", "0")
    assert "catalog_id" in output and "access_token" in output


def test_refused_when_the_sandbox_is_off(settings):
    settings.SANDBOX_ENABLED = False
    with pytest.raises(CommandError, match="SANDBOX_ENABLED"):
        _run("--json")


def test_missing_jsonl_file_is_a_command_error():
    with pytest.raises(CommandError, match="No such JSONL file"):
        _run("--json", "--shopify-jsonl", "/nonexistent/file.jsonl")
