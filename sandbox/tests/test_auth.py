"""Access tokens: where they travel, when they are refused, scopes, debug_token."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sandbox import faults
from sandbox.graph.auth import appsecret_proof
from sandbox.graph_accounts import create_sandbox_business, issue_token
from sandbox.models import AccessToken

pytestmark = pytest.mark.django_db


def _catalog_url(account: dict) -> str:
    return f"/sandbox/graph/v26.0/{account['catalog_id']}"


def test_token_in_the_authorization_header(client, account):
    response = client.get(_catalog_url(account), headers={"Authorization": f"Bearer {account['access_token']}"})
    assert response.status_code == 200 and response.json()["id"] == account["catalog_id"]


def test_token_in_a_form_body(client, account):
    response = client.post(
        _catalog_url(account),
        f"access_token={account['access_token']}&name=Renamed",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.json() == {"success": True}


def test_missing_token_is_an_oauth_error(client, account):
    response = client.get(_catalog_url(account))
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == 190 and error["type"] == "OAuthException" and error["fbtrace_id"]


def test_unknown_token_is_190_467(graph, account):
    status, body = graph.get(account["catalog_id"], token="EAAnotARealToken")
    assert status == 400
    assert (body["error"]["code"], body["error"]["error_subcode"]) == (190, 467)


def test_expired_token_is_190_463(graph, account, token):
    faults.configure(token=token, expires_at=timezone.now())
    _, body = graph.get(account["catalog_id"])
    assert (body["error"]["code"], body["error"]["error_subcode"]) == (190, 463)
    assert "Session has expired" in body["error"]["message"]


def test_revoked_token_is_190(graph, account, token):
    faults.configure(token=token, revoked=True)
    _, body = graph.get(account["catalog_id"])
    assert body["error"]["code"] == 190 and body["error"]["error_subcode"] == 467


def test_token_expiring_later_still_works(graph, account, token):
    faults.configure(token=token, expires_at=timezone.now() + timezone.timedelta(hours=1))
    status, _ = graph.get(account["catalog_id"])
    assert status == 200


def test_missing_catalog_management_scope_is_a_permission_error(graph, account, token):
    weak = issue_token(token.system_user, scopes=["business_management"])
    status, body = graph.get(account["catalog_id"], token=weak.token)
    assert status == 403
    assert body["error"]["code"] == 200 and "catalog_management" in body["error"]["message"]


def test_missing_business_management_scope_on_business_edges(graph, account, token):
    weak = issue_token(token.system_user, scopes=["catalog_management"])
    _, body = graph.get(f"{account['business_id']}/owned_product_catalogs", token=weak.token)
    assert body["error"]["code"] == 200


def test_catalog_not_assigned_to_the_system_user_is_a_200_error(graph, account, token):
    token.assigned_catalog_ids = ["1300000000099999"]
    token.save()
    _, body = graph.get(account["catalog_id"])
    assert body["error"]["code"] == 200


def test_another_business_catalog_looks_like_a_missing_object(graph):
    other = create_sandbox_business(name="Someone else")
    status, body = graph.get(other["catalog_id"])
    assert status == 400
    assert (body["error"]["code"], body["error"]["error_subcode"]) == (100, 33)
    assert body["error"]["type"] == "GraphMethodException"


def test_appsecret_proof_is_checked_when_the_app_requires_it(graph, account, token):
    app = token.app
    app.require_appsecret_proof = True
    app.save()
    _, body = graph.get(account["catalog_id"], appsecret_proof="0" * 64)
    assert body["error"]["code"] == 100 and "appsecret_proof" in body["error"]["message"]
    status, _ = graph.get(account["catalog_id"], appsecret_proof=appsecret_proof(app.secret, token.token))
    assert status == 200


def test_appsecret_proof_is_ignored_otherwise(graph, account):
    status, _ = graph.get(account["catalog_id"], appsecret_proof="whatever")
    assert status == 200


def test_debug_token_describes_a_valid_system_user_token(graph, account, token):
    _, body = graph.get("debug_token", input_token=account["access_token"])
    data = body["data"]
    assert data["is_valid"] is True and data["type"] == "SYSTEM_USER"
    assert data["app_id"] == token.app.fbid and data["user_id"] == token.system_user.fbid
    assert data["expires_at"] == 0 and data["issued_at"] > 0
    assert set(data["scopes"]) >= {"catalog_management", "business_management"}
    assert {"scope": "business_management", "target_ids": [account["business_id"]]} in data["granular_scopes"]


def test_debug_token_of_an_expired_token(graph, account, token):
    other = issue_token(token.system_user)
    other.expires_at = timezone.now() - timezone.timedelta(days=1)
    other.save()
    _, body = graph.get("debug_token", input_token=other.token)
    assert body["data"]["is_valid"] is False
    assert body["data"]["error"]["code"] == 190 and body["data"]["error"]["subcode"] == 463
    assert body["data"]["expires_at"] == int(other.expires_at.timestamp())


def test_debug_token_of_garbage(graph):
    _, body = graph.get("debug_token", input_token="nonsense")
    assert body["data"]["is_valid"] is False and body["data"]["error"]["code"] == 190


def test_debug_token_with_an_app_access_token(client, account, token):
    app = token.app
    response = client.get(
        "/sandbox/graph/v26.0/debug_token", {"input_token": token.token, "access_token": app.app_token}
    )
    assert response.json()["data"]["is_valid"] is True


def test_me_is_the_system_user(graph, token):
    _, body = graph.get("me")
    assert body == {"id": token.system_user.fbid, "name": token.system_user.name}


def test_tokens_are_stored_once(account):
    assert AccessToken.objects.filter(token=account["access_token"]).count() == 1
