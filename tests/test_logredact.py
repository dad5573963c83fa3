"""Access tokens and secrets never reach the logs, wherever they appear in a record."""

import io
import logging

import pytest
from django.conf import settings

from galantis.logredact import REDACTED, RedactSecretsFilter, redact

META_TOKEN = "EAAGm0PX4ZCpsBAbcdefghij0123456789KLMNOP"
SHOPIFY_TOKEN = "shpat_0123456789abcdef0123456789abcdef"


@pytest.fixture
def log():
    """A logger whose only handler carries the project's filter; yields (logger, output)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.logredact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_token_in_a_url_query_is_redacted_and_other_params_kept(log):
    logger, out = log
    logger.info("GET %s", f"https://graph.facebook.com/v26.0/me?fields=id,name&access_token={META_TOKEN}&limit=5")
    text = out.getvalue()
    assert META_TOKEN not in text
    assert f"access_token={REDACTED}&limit=5" in text and "fields=id,name" in text


def test_bearer_header_is_redacted(log):
    logger, out = log
    logger.warning("headers: {'Authorization': 'Bearer %s'}", META_TOKEN)
    assert META_TOKEN not in out.getvalue()
    assert "Bearer [REDACTED]" in out.getvalue()


def test_shopify_header_is_redacted(log):
    logger, out = log
    logger.info("sent X-Shopify-Access-Token: %s to %s", SHOPIFY_TOKEN, "demo.myshopify.com")
    assert SHOPIFY_TOKEN not in out.getvalue()
    assert "demo.myshopify.com" in out.getvalue()


def test_json_body_values_are_redacted(log):
    logger, out = log
    logger.info('body={"access_token": "%s", "webhook_secret": "whsec-123456", "name": "Shop"}', SHOPIFY_TOKEN)
    text = out.getvalue()
    assert SHOPIFY_TOKEN not in text and "whsec-123456" not in text
    assert '"name": "Shop"' in text


def test_python_repr_of_a_dict_is_redacted(log):
    logger, out = log
    logger.debug("params %r", {"access_token": "opaque-value-1", "appsecret_proof": "abc123", "batch": "[]"})
    text = out.getvalue()
    assert "opaque-value-1" not in text and "abc123" not in text and "'batch': '[]'" in text


def test_exception_text_and_traceback_are_redacted(log):
    logger, out = log
    try:
        raise ConnectionError(
            "HTTPSConnectionPool(host='graph.facebook.com', port=443): Max retries exceeded with url: "
            f"/v26.0/123/items_batch?access_token={META_TOKEN}"
        )
    except ConnectionError:
        logger.exception("push failed for catalog %s", 7)
    text = out.getvalue()
    assert META_TOKEN not in text
    assert "push failed for catalog 7" in text and "Traceback" in text


def test_bare_tokens_in_free_text_are_redacted():
    text = redact(f"token was {META_TOKEN} and then {SHOPIFY_TOKEN}.")
    assert META_TOKEN not in text and SHOPIFY_TOKEN not in text


def test_text_without_secrets_is_unchanged():
    text = "Pushed 5000 items to catalog 123 (batch handle AcXyz); 3 failed"
    assert redact(text) == text


def test_a_broken_format_string_still_logs(log):
    logger, out = log
    logger.info("broken %s %s access_token=abc", "only-one")
    assert "abc" not in out.getvalue().split("access_token=")[-1]


def test_every_configured_handler_redacts():
    handlers = settings.LOGGING["handlers"]
    assert handlers
    for handler in handlers.values():
        assert "redact_secrets" in handler.get("filters", [])
    assert settings.LOGGING["filters"]["redact_secrets"]["()"] == "galantis.logredact.RedactSecretsFilter"
