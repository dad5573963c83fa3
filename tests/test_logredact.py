"""Access tokens and secrets never reach the logs, wherever they appear in a record."""

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from galantis.logredact import REDACTED, RedactSecretsFilter, redact, redact_log_text

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


def test_token_in_a_url_query_is_redacted_and_other_params_kept():
    text = redact(f"https://graph.facebook.com/v26.0/me?fields=id,name&access_token={META_TOKEN}&limit=5")
    assert META_TOKEN not in text
    assert f"access_token={REDACTED}&limit=5" in text and "fields=id,name" in text


def test_logs_keep_no_query_string_value_whatever_its_name(log):
    logger, out = log
    logger.info("GET %s", "https://graph.facebook.com/v26.0/me?fields=id,name&t=opaque-canary-value&limit=5")
    text = out.getvalue()
    assert "opaque-canary-value" not in text
    assert f"/v26.0/me?fields={REDACTED}&t={REDACTED}&limit={REDACTED}" in text


def test_text_with_a_question_mark_but_no_query_is_unchanged():
    assert redact_log_text("Is the token valid? Meta says yes.") == "Is the token valid? Meta says yes."


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


LOG_EVERYWHERE = """
import logging, django
django.setup()
for name in ("django.server", "django.request", "django", "urllib3.connectionpool", "galantis"):
    logger = logging.getLogger(name)
    logger.setLevel(logging.DEBUG)
    logger.warning('"%s" %s %s', f"GET /sandbox/graph/v26.0/debug_token?input_token=opaque-canary&n={name} HTTP/1.1",
                   200, 9)
"""


def test_the_configured_loggers_write_no_query_values():
    """runserver's access log, Django's request log and urllib3 go through the project's handlers."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", LOG_EVERYWHERE],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "DJANGO_SETTINGS_MODULE": "galantis.settings", "DEBUG": "True"},
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "debug_token" in line]
    assert len(lines) == 5, result.stderr  # each once: Django's own console handler is gone
    assert all("debug_token?input_token=[REDACTED]&n=[REDACTED]" in line for line in lines)
    assert "opaque-canary" not in result.stderr + result.stdout
