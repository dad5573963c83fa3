"""Cursor pagination as Graph edges answer it: ``data``, ``paging.cursors``, ``paging.next``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from . import errors
from .params import Params

DEFAULT_LIMIT = 25
MAX_LIMIT = 5000
_PREFIX = "sandbox:"


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{pk}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_PREFIX) or not text[len(_PREFIX) :].isdigit():
        raise errors.invalid_param(f"Invalid cursor: {cursor}")
    return int(text[len(_PREFIX) :])


def _page_url(request: HttpRequest, **changes: str | None) -> str:
    query = request.GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = value
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def paginate(
    request: HttpRequest,
    params: Params,
    queryset: QuerySet,
    serialize: Callable[[Any], dict],
    *,
    summary: Callable[[], dict] | None = None,
    newest_first: bool = False,
) -> dict:
    """One page of an edge, ordered by id, with Meta's cursors and next/previous links."""
    limit = params.int("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    after, before = params.str("after"), params.str("before")
    forward, backward = ("-pk", "pk") if newest_first else ("pk", "-pk")
    beyond = "pk__lt" if newest_first else "pk__gt"
    behind = "pk__gt" if newest_first else "pk__lt"
    if after:
        rows = list(queryset.filter(**{beyond: decode_cursor(after)}).order_by(forward)[: limit + 1])
        has_next, has_previous = len(rows) > limit, True
        rows = rows[:limit]
    elif before:
        rows = list(queryset.filter(**{behind: decode_cursor(before)}).order_by(backward)[: limit + 1])
        has_next, has_previous = True, len(rows) > limit
        rows = list(reversed(rows[:limit]))
    else:
        rows = list(queryset.order_by(forward)[: limit + 1])
        has_next, has_previous = len(rows) > limit, False
        rows = rows[:limit]
    result: dict = {"data": [serialize(row) for row in rows]}
    if rows:
        first, last = encode_cursor(rows[0].pk), encode_cursor(rows[-1].pk)
        paging: dict = {"cursors": {"before": first, "after": last}}
        if has_previous:
            paging["previous"] = _page_url(request, before=first, after=None)
        if has_next:
            paging["next"] = _page_url(request, after=last, before=None)
        result["paging"] = paging
    if summary is not None and params.bool("summary", False):
        result["summary"] = summary()
    return result


def single_page(items: list[dict]) -> dict:
    """An edge answered in one page (short lists such as check_batch_request_status)."""
    result: dict = {"data": items}
    if items:
        cursor = encode_cursor(0)
        result["paging"] = {"cursors": {"before": cursor, "after": cursor}}
    return result
