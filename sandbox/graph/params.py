"""Request parameters as the Graph API takes them: query string, form, multipart or JSON body.

The body is read straight from the stream (not ``request.body``) so a 5,000-item
``items_batch`` call is not refused by Django's 2.5 MB form limit; Meta's own limit
(28 MB) applies instead and answers code 1 like Meta does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from . import errors

# Meta's items_batch payload limit.
MAX_BODY_BYTES = 28 * 1024 * 1024
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class Params:
    """The merged parameters of one call (body values win over the query string)."""

    def __init__(self, values: dict[str, Any], files: dict[str, UploadedFile] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def str(self, name: str, default: str = "") -> str:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)

    def required(self, name: str) -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            raise errors.param_required(name)
        return value

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise errors.invalid_param(f"Param {name} must be a boolean")

    def int(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise errors.invalid_param(f"Param {name} must be an integer") from None
        if number < minimum or (maximum is not None and number > maximum):
            raise errors.invalid_param(f"Param {name} must be between {minimum} and {maximum}")
        return number

    def json(self, name: str, default: Any = None, *, lenient: bool = False) -> Any:
        """A JSON parameter: native (JSON body) or a JSON-encoded string (form, query)."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if not isinstance(value, str):
            return value
        return decode_json(value, name, lenient=lenient)

    def enum(self, name: str, choices: Iterable[str], default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        allowed = list(choices)
        if value not in allowed:
            raise errors.invalid_param(f'Param {name} must be one of {{{", ".join(allowed)}}} - got "{value}"')
        return value

    def list(self, name: str) -> list[str]:
        """A list parameter: a JSON array or a comma-separated string."""
        value = self.values.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, list):
            return [str(v) for v in value]
        text = str(value).strip()
        if text.startswith("["):
            decoded = decode_json(text, name)
            if not isinstance(decoded, list):
                raise errors.invalid_param(f"Param {name} must be an array")
            return [str(v) for v in decoded]
        return [part.strip() for part in text.split(",") if part.strip()]


def decode_json(text: str, name: str, *, lenient: bool = False) -> Any:
    """Decode a JSON parameter; ``lenient`` also takes the single-quoted form Meta's docs show."""
    try:
        return json.loads(text)
    except ValueError:
        if lenient:
            swapped = text.translate(str.maketrans({"'": '"', '"': "'"}))
            try:
                return json.loads(swapped)
            except ValueError:
                pass
    raise errors.invalid_param(f"Param {name} must be a valid JSON string")


def parse_request(request: HttpRequest) -> Params:
    """Collect the parameters of a Graph call, whatever the body encoding."""
    try:
        values: dict[str, Any] = {key: request.GET.get(key) for key in request.GET}
    except TooManyFieldsSent:
        raise errors.too_much_data() from None
    content_type = (request.content_type or "").lower()
    files: dict[str, UploadedFile] = {}
    if content_type == "multipart/form-data":
        try:
            values.update({key: request.POST.get(key) for key in request.POST})
            files = {key: request.FILES[key] for key in request.FILES}
        except (RequestDataTooBig, TooManyFieldsSent):
            raise errors.too_much_data() from None
        except MultiPartParserError:
            raise errors.invalid_param("Malformed multipart body") from None
        return Params(values, files)
    raw = _read_body(request)
    if not raw.strip():
        return Params(values)
    if content_type == "application/json":
        try:
            body = json.loads(raw.decode(request.encoding or "utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise errors.invalid_param("Invalid JSON for postbody") from None
        if not isinstance(body, dict):
            raise errors.invalid_param("The JSON body must be an object of parameters")
        values.update(body)
    else:
        # Form-urlencoded (also the default for clients that omit the content type).
        try:
            text = raw.decode(request.encoding or "utf-8")
        except UnicodeDecodeError:
            raise errors.invalid_param("The request body is not valid UTF-8") from None
        values.update(dict(parse_qsl(text, keep_blank_values=True)))
    return Params(values)


def _read_body(request: HttpRequest) -> bytes:
    if hasattr(request, "_body"):
        return request._body
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise errors.too_much_data()
    data = request.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise errors.too_much_data()
    return data
