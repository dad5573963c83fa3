"""Relay cursor connections over querysets (keyset pagination) and over in-memory lists.

Cursors are opaque (base64 JSON of the sort-key values of the edge's row), so paging a large
shop never uses OFFSET: each page is one indexed range scan of `first + 1` rows.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from .. import ids
from .errors import UserFacingError

# Shopify's maximum page size for any connection.
MAX_PAGE_SIZE = 250


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        return parse_datetime(value["t"])
    return value


def page_size(first: int | None, last: int | None, *, bulk: bool = False) -> tuple[int, bool]:
    """(count, forward) from the connection arguments, with Shopify's errors for bad ones."""
    if bulk:
        return 10**9, True
    if first is None and last is None:
        raise UserFacingError("you must provide one of first or last")
    if first is not None and last is not None:
        raise UserFacingError("providing both first and last is not supported")
    count = first if first is not None else last
    if count < 0:
        raise UserFacingError(f"{'first' if first is not None else 'last'} must be a non-negative integer")
    if count > MAX_PAGE_SIZE:
        raise UserFacingError(
            f"The maximum number of items per connection is {MAX_PAGE_SIZE}; "
            f"{'first' if first is not None else 'last'} was {count}"
        )
    return count, first is not None


def _after_q(fields: Sequence[str], values: Sequence[Any], descending: bool) -> Q:
    """Rows strictly after `values` in the (fields...) order."""
    op = "lt" if descending else "gt"
    condition = Q()
    for index in range(len(fields) - 1, -1, -1):
        step = Q(**{f"{fields[index]}__{op}": values[index]})
        for prior in range(index):
            step &= Q(**{fields[prior]: values[prior]})
        condition = step if index == len(fields) - 1 else (step | condition)
    return condition


def queryset_connection(
    queryset: QuerySet,
    order: Sequence[str],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
    bulk: bool = False,
) -> dict[str, Any]:
    """A connection dict (edges, nodes, pageInfo) over `queryset` ordered by `order` (unique last field)."""
    count, forward = page_size(first, last, bulk=bulk)
    descending = reverse != (not forward)  # walk backwards for `last`
    qs = queryset
    for cursor, is_after in ((after, True), (before, False)):
        if cursor is None:
            continue
        payload = ids.decode_cursor(cursor)
        if payload is None or not isinstance(payload.get("k"), list) or len(payload["k"]) != len(order):
            raise UserFacingError(f"Invalid cursor for current pagination sort: {cursor!r}")
        values = [_decode(v) for v in payload["k"]]
        # `after` moves in the requested direction, `before` against it.
        qs = qs.filter(_after_q(order, values, reverse if is_after else not reverse))
    ordering = [f"-{field}" if descending else field for field in order]
    rows = list(qs.order_by(*ordering)[: count + 1])
    has_more = len(rows) > count
    rows = rows[:count]
    if not forward:
        rows.reverse()

    def cursor_of(row: Any) -> str:
        return ids.encode_cursor({"k": [_encode(_attr(row, field)) for field in order]})

    return _connection(
        rows,
        cursor_of,
        has_next=has_more if forward else before is not None,
        has_previous=(after is not None) if forward else has_more,
    )


def _attr(row: Any, field: str) -> Any:
    value = row
    for part in field.split("__"):
        value = getattr(value, part)
    return value


def list_connection(
    items: Sequence[Any],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
    bulk: bool = False,
) -> dict[str, Any]:
    """A connection over an already ordered list (nested connections of one parent)."""
    count, forward = page_size(first, last, bulk=bulk)
    ordered = list(reversed(items)) if reverse else list(items)
    start, stop = 0, len(ordered)
    for cursor, is_after in ((after, True), (before, False)):
        if cursor is None:
            continue
        payload = ids.decode_cursor(cursor)
        if payload is None or not isinstance(payload.get("i"), int):
            raise UserFacingError(f"Invalid cursor for current pagination sort: {cursor!r}")
        position = payload["i"] if not reverse else len(items) - 1 - payload["i"]
        if is_after:
            start = max(start, position + 1)
        else:
            stop = min(stop, position)
    window = ordered[start:stop]
    page = window[:count] if forward else window[-count:] if count else []
    index_of = {id(item): index for index, item in enumerate(items)}
    return _connection(
        page,
        lambda item: ids.encode_cursor({"i": index_of[id(item)]}),
        has_next=(len(window) > count) if forward else stop < len(ordered),
        has_previous=start > 0 if forward else len(window) > count,
    )


def _connection(rows: list[Any], cursor_of: Callable[[Any], str], *, has_next: bool, has_previous: bool) -> dict:
    edges = [{"cursor": cursor_of(row), "node": row} for row in rows]
    return {
        "edges": edges,
        "nodes": rows,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }
