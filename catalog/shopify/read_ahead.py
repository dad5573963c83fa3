"""Read an iterator ahead in a thread, so parsing overlaps with database writes.

An import alternates between reading Shopify (download, JSON parsing, building records:
pure Python) and writing a batch (mostly waiting on the database). On two cores the two
can overlap: the reader thread runs while the writer waits on a socket, which releases
the GIL. Memory stays bounded: at most ``depth`` chunks of ``chunk`` items are buffered.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(items: Iterable[T], *, chunk: int = 500, depth: int = 4) -> Iterator[T]:
    """Yield the items of ``items``, produced by a background thread up to ``depth * chunk`` ahead.

    An exception raised while producing is re-raised here, in the consumer, after the items
    produced before it. Closing the returned generator early stops the thread at its next
    chunk (it never blocks forever on a full buffer).
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        pending: list = []
        try:
            for item in items:
                pending.append(item)
                if len(pending) >= chunk:
                    if not put(pending):
                        return
                    pending = []
            if pending and not put(pending):
                return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, who decides
            if pending:
                put(pending)
            put(_Failed(exc))

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            value = buffer.get()
            if value is _DONE:
                return
            if isinstance(value, _Failed):
                raise value.exc
            yield from value
    finally:
        stop.set()
        thread.join(timeout=5)
