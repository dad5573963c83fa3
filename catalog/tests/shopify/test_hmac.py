"""Webhook signature verification (pure)."""

from catalog.shopify.webhooks import verify_hmac

from .payloads import sign

BODY = b'{"id": 1, "title": "Caf\\u00e9 \\u003cb\\u003e"}'


def test_valid_signature_passes():
    assert verify_hmac(BODY, sign(BODY, "s3cret"), "s3cret")


def test_signature_over_other_bytes_fails():
    assert not verify_hmac(BODY + b" ", sign(BODY, "s3cret"), "s3cret")


def test_wrong_secret_fails():
    assert not verify_hmac(BODY, sign(BODY, "other"), "s3cret")


def test_missing_or_garbage_header_fails():
    assert not verify_hmac(BODY, None, "s3cret")
    assert not verify_hmac(BODY, "", "s3cret")
    assert not verify_hmac(BODY, "ünïcode-garbage", "s3cret")


def test_empty_secret_never_verifies():
    assert not verify_hmac(BODY, sign(BODY, ""), "")
