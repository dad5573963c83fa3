"""Pasting a token: checked at once with debug_token against the sandbox, over real HTTP."""

import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.connection import daily_check, flows, token_health
from catalog.models import MetaConnection
from catalog.tests.factories import CatalogFactory
from sandbox import faults
from sandbox.graph_accounts import create_sandbox_business, issue_token
from sandbox.models import AccessToken

Status = MetaConnection.TokenStatus
pytestmark = pytest.mark.django_db(transaction=True)


def _token_with(meta, **kwargs) -> str:

    system_user = AccessToken.objects.get(token=meta["access_token"]).system_user
    return issue_token(system_user, **kwargs).token


def test_valid_token_is_stored_encrypted_with_its_catalogs(meta, shop):
    connection = flows.connect_token(shop["tenant"], token=meta["access_token"], business_id=meta["business_id"])
    assert connection.token_status == Status.VALID
    assert connection.token_last4 == meta["access_token"][-4:]
    assert "catalog_management" in connection.token_scopes
    assert connection.token_type == "SYSTEM_USER"
    [found] = connection.available_catalogs
    assert found["id"] == meta["catalog_id"] and found["cta"] == "ONSITE_CHECKOUT"
    assert found["product_count"] == 0
    stored = MetaConnection.objects.filter(pk=connection.pk).values_list("access_token", flat=True).query
    assert meta["access_token"] not in str(stored)


def test_business_id_is_taken_from_the_token_when_omitted(meta, shop):
    connection = flows.connect_token(shop["tenant"], token=meta["access_token"])
    assert connection.business_id == meta["business_id"]


def test_expired_token_is_refused_and_the_old_one_kept(meta, shop):

    good = flows.connect_token(shop["tenant"], token=meta["access_token"], business_id=meta["business_id"])
    expired = _token_with(meta)
    faults.configure(token=expired, expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(flows.FlowError, match="expired"):
        flows.connect_token(shop["tenant"], token=expired)
    good.refresh_from_db()
    assert good.token_last4 == meta["access_token"][-4:] and good.access_token == meta["access_token"]


def test_revoked_token_is_refused(meta, shop):

    revoked = _token_with(meta)
    faults.configure(token=revoked, revoked=True)
    with pytest.raises(flows.FlowError, match="revoked|rejects"):
        flows.connect_token(shop["tenant"], token=revoked, business_id=meta["business_id"])
    assert not MetaConnection.objects.exists()


def test_token_without_catalog_management_is_refused(meta, shop):
    limited = _token_with(meta, scopes=["business_management"])
    with pytest.raises(flows.FlowError, match="catalog_management"):
        flows.connect_token(shop["tenant"], token=limited, business_id=meta["business_id"])


def test_unknown_token_is_refused(meta, shop):
    with pytest.raises(flows.FlowError, match="revoked|rejects|invalid"):
        flows.connect_token(shop["tenant"], token="EAA" + "Z" * 60, business_id=meta["business_id"])


def test_token_of_another_business_is_refused(meta, shop):

    other = create_sandbox_business(name="Someone else")
    with pytest.raises(flows.FlowError, match=f"business {meta['business_id']}"):
        flows.connect_token(shop["tenant"], token=other["access_token"], business_id=meta["business_id"])


def test_meta_down_changes_nothing(meta, shop):

    faults.configure(outage=True)
    with pytest.raises(flows.FlowError, match="could not be reached"):
        flows.connect_token(shop["tenant"], token=meta["access_token"], business_id=meta["business_id"])
    assert not MetaConnection.objects.exists()


def test_daily_check_marks_an_expired_token_and_pauses_sync(meta, shop):

    connection = flows.connect_token(shop["tenant"], token=meta["access_token"], business_id=meta["business_id"])
    catalog = CatalogFactory(
        tenant=shop["tenant"], store=shop["store"], connection=connection, meta_catalog_id=meta["catalog_id"]
    )
    faults.configure(token=meta["access_token"], expires_at=timezone.now() - timedelta(seconds=5))
    assert daily_check.check_all_tokens() == 1
    connection.refresh_from_db()
    catalog.refresh_from_db()
    assert connection.token_status == Status.EXPIRED
    assert catalog.pause_kind == "auth" and "expired" in catalog.paused_reason
    assert catalog.sync_enabled is True


def test_token_expiring_soon_warns_on_the_health_summary(meta, shop, settings):

    settings.META_TOKEN_WARNING_DAYS = 7
    connection = flows.connect_token(shop["tenant"], token=meta["access_token"], business_id=meta["business_id"])
    faults.configure(token=meta["access_token"], expires_at=timezone.now() + timedelta(days=2, hours=2))
    assert token_health.check_token(connection) == Status.EXPIRING
    summary = token_health.summary(shop["tenant"])
    assert summary["level"] == "warning" and summary["days_left"] == 2


def test_the_page_never_shows_or_logs_the_token(meta, shop, owner_client, caplog):
    caplog.set_level(logging.DEBUG)
    response = owner_client.post(
        reverse("connection:save_token"),
        {"tenant": "acme", "business_id": meta["business_id"], "access_token": meta["access_token"]},
        follow=True,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Acme Business catalog" in body and "ONSITE_CHECKOUT" in body
    assert meta["access_token"] not in body
    assert "••••" + meta["access_token"][-4:] in body
    assert all(meta["access_token"] not in record.getMessage() for record in caplog.records)


def test_a_refused_token_is_not_echoed_in_the_error(meta, shop, owner_client):

    revoked = _token_with(meta)
    faults.configure(token=revoked, revoked=True)
    response = owner_client.post(
        reverse("connection:save_token"),
        {"tenant": "acme", "business_id": meta["business_id"], "access_token": revoked},
    )
    assert response.status_code == 400
    assert revoked not in response.content.decode()
