"""A signed webhook's raw body, read up to a size limit of our own."""

from __future__ import annotations

from django.http import HttpRequest


def read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The request's exact bytes (the signature covers them), or None when they exceed ``limit``.

    ``request.read()``, not ``request.body``: the limit is the endpoint's own, not
    DATA_UPLOAD_MAX_MEMORY_SIZE, and a declared length above it is refused unread.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    raw = request.read(limit + 1)
    return None if len(raw) > limit else raw
