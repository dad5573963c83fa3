"""A logging filter that removes access tokens and secrets from every record.

Tokens reach logs in URLs (``?access_token=``), headers (``Authorization: Bearer``),
JSON bodies and exception messages, so the filter rewrites the final message text
rather than trusting callers to be careful.

Logs also lose every query-string value (``/path?handle=[REDACTED]``): a URL's query is
where a token most often travels (the SDK's ``access_token``, Meta's ``input_token``, a
signed download link), under names no list can foresee, and the parameter names are
enough to read an access log. ``redact()`` alone, used for messages stored and shown to
people, keeps query values other than the secret ones.
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


# "?a=1&b=2" after a path or host, up to whitespace, a quote or a bracket.
_QUERY = re.compile(r"""(?<=[\w/.\-])\?(?P<query>[^\s"'<>()\[\]{}]+)""")
_QUERY_PAIR = re.compile(r"(?P<key>[^&;=]+=)(?P<value>[^&;]*)")


def redact_query_strings(text: str) -> str:
    """Return ``text`` with the value of every URL query parameter replaced."""

    def pairs(match: re.Match) -> str:
        query = match.group("query")
        if "=" not in query:
            return match.group(0)
        return "?" + _QUERY_PAIR.sub(lambda m: m.group("key") + (REDACTED if m.group("value") else ""), query)

    return _QUERY.sub(pairs, text)


def redact(text: str) -> str:
    """Return ``text`` with every recognisable secret value replaced."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("key") + REDACTED, text)
    return text


def redact_log_text(text: str) -> str:
    """What a log line may keep of ``text``: no secrets, no query-string values."""
    return redact(redact_query_strings(text))


class RedactSecretsFilter(logging.Filter):
    """Rewrite the rendered message (and exception text) of each record without secrets.

    Set on every handler the project configures (``settings.LOGGING``), the access logs of
    ``runserver`` (``django.server``) included, so records of any logger are covered.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not drop the record
            message = str(record.msg)
        record.msg = redact_log_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_log_text(record.exc_text)
        return True
