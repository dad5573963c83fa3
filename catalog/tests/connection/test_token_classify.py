"""debug_token answers -> the five token states (pure, no HTTP)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.connection.token_health import classify
from catalog.models import MetaConnection

Status = MetaConnection.TokenStatus
NOW = timezone.now()


def _data(**overrides):
    data = {
        "is_valid": True,
        "type": "SYSTEM_USER",
        "expires_at": 0,
        "scopes": ["catalog_management", "business_management"],
    }
    data.update(overrides)
    return data


def test_non_expiring_token_with_catalog_management_is_valid():
    check = classify(_data(), now=NOW)
    assert check.status == Status.VALID
    assert check.expires_at is None
    assert check.token_type == "SYSTEM_USER"


def test_token_expiring_within_warning_days_is_expiring(settings):
    settings.META_TOKEN_WARNING_DAYS = 7
    check = classify(_data(expires_at=int((NOW + timedelta(days=3)).timestamp())), now=NOW)
    assert check.status == Status.EXPIRING
    assert "expires on" in check.message


def test_token_expiring_later_than_warning_days_is_valid(settings):
    settings.META_TOKEN_WARNING_DAYS = 7
    check = classify(_data(expires_at=int((NOW + timedelta(days=30)).timestamp())), now=NOW)
    assert check.status == Status.VALID
    assert check.expires_at is not None


def test_invalid_token_with_subcode_463_is_expired():
    check = classify({"is_valid": False, "error": {"code": 190, "subcode": 463, "message": "expired"}}, now=NOW)
    assert check.status == Status.EXPIRED


def test_invalid_token_past_its_expiry_is_expired():
    past = int((NOW - timedelta(days=1)).timestamp())
    check = classify({"is_valid": False, "expires_at": past, "error": {"code": 190}}, now=NOW)
    assert check.status == Status.EXPIRED


def test_invalid_token_otherwise_is_revoked():
    check = classify({"is_valid": False, "error": {"code": 190, "subcode": 460, "message": "password changed"}})
    assert check.status == Status.REVOKED
    assert check.blocks_sync


def test_token_without_catalog_management_is_missing_permission():
    check = classify(_data(scopes=["business_management"]), now=NOW)
    assert check.status == Status.MISSING_PERMISSION
    assert "catalog_management" in check.message


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.REVOKED, Status.MISSING_PERMISSION])
def test_blocking_statuses_block_sync(status):
    assert status in MetaConnection.BLOCKING_STATUSES


def test_granular_scope_targets_are_exposed():
    check = classify(_data(granular_scopes=[{"scope": "business_management", "target_ids": ["123"]}]))
    assert check.target_ids("business_management") == ["123"]
    assert check.target_ids("catalog_management") == []
