"""Meta's onboarding (FBE) webhook over real HTTP: the sandbox signs and POSTs, ``live_server`` receives."""

from __future__ import annotations

import json

import pytest
import requests
from django.urls import reverse

from catalog.connection import flows
from catalog.models import Catalog, MetaOnboarding
from catalog.tests.factories import CatalogFactory, UserFactory
from sandbox.graph import onboarding as sender

pytestmark = pytest.mark.django_db(transaction=True)
APP_SECRET = "sandbox-app-secret-for-webhooks"
VERIFY_TOKEN = "galantis-verify-token"


@pytest.fixture
def url(meta, live_server, settings) -> str:
    settings.META_APP_SECRET = APP_SECRET
    settings.META_WEBHOOK_VERIFY_TOKEN = VERIFY_TOKEN
    settings.META_WEBHOOK_MAX_BYTES = 64 * 1024
    return f"{live_server.url}{reverse('meta_onboarding_webhook')}"


@pytest.fixture
def connected(meta, shop):
    """Tenant "acme" pasted its token for the sandbox business: the business id is known."""
    return flows.connect_token(shop["tenant"], token=meta["access_token"], business_id=meta["business_id"])


def _install(meta, **overrides) -> dict:
    ids = {"business_id": meta["business_id"], "catalog_id": meta["catalog_id"], "pixel_id": meta["pixel_id"]}
    return sender.build_payload(**{**ids, **overrides})


def test_a_signed_delivery_stores_a_pending_onboarding_for_the_business_tenant(url, meta, shop, connected):
    response = sender.send(url, _install(meta), app_secret=APP_SECRET)
    assert response.status_code == 200 and response.json()["stored"] == 1
    row = MetaOnboarding.objects.get()
    assert (row.tenant, row.meta_catalog_id, row.pixel_id, row.state) == (
        shop["tenant"],
        meta["catalog_id"],
        meta["pixel_id"],
        MetaOnboarding.State.PENDING,
    )
    assert not Catalog.objects.filter(meta_catalog_id=meta["catalog_id"]).exists()  # never connected silently


def test_a_bad_signature_is_refused_and_stores_nothing(url, meta, connected):
    response = sender.send(url, _install(meta), app_secret="not-the-app-secret")
    assert response.status_code == 403
    assert not MetaOnboarding.objects.exists()


def test_a_missing_signature_is_refused(url, meta, connected):
    response = sender.send(url, _install(meta), app_secret=APP_SECRET, signature="")
    assert response.status_code == 403
    assert not MetaOnboarding.objects.exists()


def test_without_an_app_secret_every_delivery_is_refused(url, meta, connected, settings):
    settings.META_APP_SECRET = ""
    assert sender.send(url, _install(meta), app_secret="").status_code == 403
    assert not MetaOnboarding.objects.exists()


def test_the_same_delivery_twice_is_stored_once(url, meta, connected):
    payload = _install(meta, entry_time=1_760_000_000)
    first = sender.send(url, payload, app_secret=APP_SECRET)
    again = sender.send(url, payload, app_secret=APP_SECRET)
    assert (first.json()["stored"], again.status_code, again.json()["duplicates"]) == (1, 200, 1)
    assert MetaOnboarding.objects.count() == 1


def test_an_unknown_business_is_stored_unmatched_for_superusers_only(url, meta, shop):
    response = sender.send(url, _install(meta, business_id="987654321", catalog_id="123456789"), app_secret=APP_SECRET)
    assert response.status_code == 200
    row = MetaOnboarding.objects.get()
    assert row.tenant is None and "No tenant knows business 987654321" in row.match_note
    assert not MetaOnboarding.objects.for_user(shop["owner"]).exists()
    assert MetaOnboarding.objects.for_user(UserFactory(is_superuser=True)).get() == row


def test_a_catalog_two_tenants_claim_stays_unmatched(url, meta, connected):
    CatalogFactory(meta_catalog_id=meta["catalog_id"])  # another tenant already syncs this catalog
    sender.send(url, _install(meta), app_secret=APP_SECRET)
    row = MetaOnboarding.objects.get()
    assert row.tenant is None and "known to 2 tenants" in row.match_note


def test_malformed_json_is_a_400(url, meta, connected):
    response = sender.send(url, b'{"object": "fbe_install", "entry": [', app_secret=APP_SECRET)
    assert response.status_code == 400
    assert not MetaOnboarding.objects.exists()


def test_json_that_is_not_a_webhook_envelope_is_a_400(url, meta, connected):
    response = sender.send(url, json.dumps([1, 2, 3]).encode(), app_secret=APP_SECRET)
    assert response.status_code == 400


def test_a_body_above_the_limit_is_a_413(url, meta, connected):
    payload = _install(meta)
    payload["entry"][0]["padding"] = "x" * (64 * 1024)
    response = sender.send(url, payload, app_secret=APP_SECRET)
    assert response.status_code == 413
    assert not MetaOnboarding.objects.exists()


def test_the_subscription_handshake_echoes_the_challenge(url):
    ok = requests.get(
        url,
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        timeout=10,
    )
    wrong = requests.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"}, timeout=10
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert wrong.status_code == 403 and "1158201444" not in wrong.text


def test_the_merchant_confirms_the_onboarding_into_the_import_flow(url, meta, shop, connected, owner_client):
    sender.send(url, _install(meta), app_secret=APP_SECRET)
    row = MetaOnboarding.objects.get()
    page = owner_client.get(reverse("connection:whatsapp"), {"tenant": "acme"})
    assert b"Meta announced a catalog" in page.content and meta["catalog_id"].encode() in page.content
    response = owner_client.post(
        reverse("connection:confirm_onboarding", args=[row.pk]),
        {"tenant": "acme", "store": shop["store"].pk, "flow": "import"},
    )
    assert response.status_code == 302
    catalog = Catalog.objects.get(tenant=shop["tenant"], meta_catalog_id=meta["catalog_id"])
    assert (catalog.flow, catalog.store, catalog.sync_enabled, catalog.pixel_id) == (
        Catalog.Flow.IMPORT,
        shop["store"],
        False,
        meta["pixel_id"],
    )  # import waits for the report's go
    row.refresh_from_db()
    assert (row.state, row.catalog, row.decided_by) == (MetaOnboarding.State.CONFIRMED, catalog, shop["owner"])


def test_a_dismissed_onboarding_connects_nothing(url, meta, shop, connected, owner_client):
    payload = _install(meta)
    sender.send(url, payload, app_secret=APP_SECRET)
    row = MetaOnboarding.objects.get()
    owner_client.post(reverse("connection:dismiss_onboarding", args=[row.pk]), {"tenant": "acme"})
    row.refresh_from_db()
    assert row.state == MetaOnboarding.State.DISMISSED
    assert not Catalog.objects.filter(meta_catalog_id=meta["catalog_id"]).exists()
    # A replay of the dismissed delivery brings nothing back for the merchant to confirm.
    again = sender.send(url, payload, app_secret=APP_SECRET)
    assert (again.status_code, again.json()["duplicates"]) == (200, 1)
    assert list(MetaOnboarding.objects.values_list("state", flat=True)) == [MetaOnboarding.State.DISMISSED]
