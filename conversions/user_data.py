"""Customer information (``user_data``) normalised and SHA-256-hashed as Meta requires.

The reference is the official SDK's ``facebook_business.adobjects.serverside.normalize``:
for every input it accepts, :func:`normalize` returns what it returns before hashing
(``conversions/tests/test_user_data.py`` holds the two equal on a table of awkward
inputs). The SDK is a test tool here; this module is our own implementation.

What each key becomes (all: lower case, surrounding whitespace removed, a value already
hashed — 64 or 32 hex characters — kept as it is):

* ``em``: must look like an e-mail address (``x@y.z``); nothing else changes.
* ``ph``: digits with the country code. The SDK drops spaces, dashes, brackets, a "+" and
  leading zeros; it cannot add a missing country code. We do: a number written without
  "+" or "00" is national, so its trunk prefix is dropped and the calling code of the
  address's country is put in front (``912 345 678`` in PT -> ``351912345678``,
  ``020 7946 0958`` in GB -> ``442079460958``); without a country it is left out.
  Anything from the first letter on (``ext. 12``) is cut.
* ``fn``, ``ln``, ``external_id``: as they are (accents kept, UTF-8 when hashed).
* ``ct``: digits, dots, dashes, brackets and whitespace removed.
* ``zp``: whitespace removed, and only what comes before a dash (``94105-1234`` -> ``94105``).
* ``country``: letters only; must be an ISO 3166-1 alpha-2 code.

``client_ip_address`` and ``client_user_agent`` are never hashed (Meta needs them as they are).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from .phones import CALLING_CODES, COUNTRY_CODES, trunk_prefix

# Sent hashed; external_id too (Meta recommends hashing it; the SDK leaves that to callers).
HASHED_KEYS = ("em", "ph", "fn", "ln", "ct", "zp", "country", "external_id")
UNHASHED_KEYS = ("client_ip_address", "client_user_agent")

_SHA256 = re.compile(r"^[a-f0-9]{64}$")
_MD5 = re.compile(r"^[a-f0-9]{32}$")
_EMAIL = re.compile(r".+@.+\..+")
_CITY_DROPPED = re.compile(r"[0-9.\s\-()]")
_NOT_A_TO_Z = re.compile(r"[^a-z]")
_WHITESPACE = re.compile(r"\s")
_PHONE_SYMBOLS = re.compile(r"[^0-9+]")
# E.164: at most 15 digits; the SDK's own pattern wants at least 7.
_PHONE_DIGITS = re.compile(r"^[1-9]\d{6,14}$")


def is_hashed(value: str) -> bool:
    """A SHA-256 or MD5 hex digest (the SDK sends those as they are)."""
    return bool(_SHA256.match(value) or _MD5.match(value))


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalize(key: str, value: object, *, country: str = "") -> str | None:
    """``value`` as Meta wants it for ``key``, before hashing; None when empty or invalid.

    ``country``: the ISO code of the customer's address, for phone numbers written without one.
    """
    if value is None:
        return None
    text = str(value).lower().strip()
    if not text:
        return None
    if is_hashed(text):
        return text
    if key == "em":
        return text if _EMAIL.match(text) else None
    if key == "ph":
        return normalize_phone(text, country)
    if key == "ct":
        text = _CITY_DROPPED.sub("", text)
    elif key == "zp":
        text = _WHITESPACE.sub("", text).split("-")[0]
    elif key == "country":
        text = _NOT_A_TO_Z.sub("", text)
        if text.upper() not in COUNTRY_CODES:
            return None
    return text or None


def normalize_phone(value: str, country: str = "") -> str | None:
    """Digits with the country code (no "+", no leading zeros), or None when that cannot be told."""
    text = value.lower().strip()
    letter = re.search(r"[a-z]", text)
    if letter:
        text = text[: letter.start()]
    text = _PHONE_SYMBOLS.sub("", text)
    international = text.startswith(("+", "00"))
    digits = text.replace("+", "")
    if international:
        digits = digits.lstrip("0")
    else:
        region = (country or "").strip().upper()
        code = CALLING_CODES.get(region)
        if code is None:
            return None  # no country code to add: Meta could never match it
        code_text, trunk = str(code), trunk_prefix(region)
        if trunk and digits.startswith(trunk):
            digits = code_text + digits[len(trunk) :]
        elif not (digits.startswith(code_text) and len(digits) >= len(code_text) + 8):
            # Already international without its "+" when it starts with the code and is long
            # enough to hold a national number after it; otherwise national.
            digits = code_text + digits
    return digits if _PHONE_DIGITS.match(digits) else None


def hashed(key: str, values: Iterable[object], *, country: str = "") -> list[str]:
    """Every valid value of ``values`` normalised and hashed, duplicates dropped, in order."""
    out: list[str] = []
    for value in values:
        normal = normalize(key, value, country=country)
        if normal is None:
            continue
        digest = normal if is_hashed(normal) else sha256(normal)
        if digest not in out:
            out.append(digest)
    return out


def build(
    values: dict[str, Iterable[object]],
    *,
    country: str = "",
    client_ip_address: str = "",
    client_user_agent: str = "",
) -> dict[str, object]:
    """The ``user_data`` object: each key of ``HASHED_KEYS`` with a list of hashes, when any is valid."""
    user_data: dict[str, object] = {}
    for key in HASHED_KEYS:
        digests = hashed(key, values.get(key, ()), country=country)
        if digests:
            user_data[key] = digests
    if client_ip_address:
        user_data["client_ip_address"] = client_ip_address.strip()
    if client_user_agent:
        user_data["client_user_agent"] = client_user_agent.strip()
    return user_data
