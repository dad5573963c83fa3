"""A logging filter that removes access tokens and secrets from every record.

Tokens reach logs in URLs (``?access_token=``), headers (``Authorization: Bearer``),
JSON bodies and exception messages, so the filter rewrites the final message text
rather than trusting callers to be careful.
"""

import logging
import re

REDACTED = "[REDACTED]"

# Parameter or key names whose values are secret, in query strings, form bodies,
# JSON and Python reprs.
_SECRET_NAMES = (
    r"access_token|input_token|appsecret_proof|app_secret|client_secret|webhook_secret"
    r"|api_key|password|secret|token|x-shopify-access-token|x-shopify-hmac-sha256"
)
_PATTERNS = [
    # access_token=abc&...  /  "access_token": "abc"  /  'token': 'abc'
    re.compile(
        rf"""(?P<key>["']?(?:{_SECRET_NAMES})["']?\s*[=:]\s*["']?)(?P<value>[^"'&\s,;}}]+)""",
        re.IGNORECASE,
    ),
    re.compile(r"(?P<key>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/=|-]+)", re.IGNORECASE),
    # Bare Meta user/system tokens and Shopify Admin API tokens wherever they appear.
    re.compile(r"(?P<key>)(?P<value>\bEAA[A-Za-z0-9]{20,})"),
    re.compile(r"(?P<key>)(?P<value>\bshp(?:at|ca|pa|ss)_[A-Za-z0-9]{16,})"),
]


def redact(text: str) -> str:
    """Return ``text`` with every recognisable secret value replaced."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("key") + REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrite the rendered message (and exception text) of each record without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not drop the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
