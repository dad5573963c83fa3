"""Work in bounded pieces: a list or a stream in chunks of ``size``, a queryset by keyset.

Bulk writes, ``IN (...)`` lookups and Graph API pages all take a bounded number of rows
at a time (SQLite's parameter limit, Meta's batch limits, memory): these are the one way
the code cuts its work into such pieces.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from django.db.models import QuerySet

T = TypeVar("T")


def in_chunks(iterable: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield lists of up to ``size`` items of ``iterable``, in order (a list, a generator or a queryset iterator)."""
    chunk: list[T] = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def keyset_chunks(queryset: QuerySet, size: int) -> Iterator[list]:
    """Yield the rows of ``queryset`` in pk order, ``size`` at a time (keyset pagination).

    Each chunk is a fresh query from the last pk read, never an OFFSET: rows that leave the
    queryset meanwhile (a row matched by the pass reading it) drop out of later chunks, and
    every chunk costs the same however deep into the table it is.
    """
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:size])
        if not chunk:
            return
        last = chunk[-1].pk
        yield chunk
