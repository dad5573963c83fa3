"""Read a large queryset in chunks by primary key (keyset pagination), as the import report does.

Each chunk is a fresh query from the last pk read, never an OFFSET: rows that leave the
queryset meanwhile (a row matched by the pass that reads it) simply drop out of later
chunks, and every chunk costs the same however deep into the table it is.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet


def keyset_chunks(queryset: QuerySet, size: int) -> Iterator[list]:
    """Yield the rows of ``queryset`` in pk order, ``size`` at a time."""
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:size])
        if not chunk:
            return
        last = chunk[-1].pk
        yield chunk
