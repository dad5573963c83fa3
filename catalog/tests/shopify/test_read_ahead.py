"""read_ahead: the import's reader thread keeps order, errors and a bounded buffer."""

import threading
import time

import pytest

from catalog.shopify.read_ahead import read_ahead


def test_yields_every_item_in_order():
    assert list(read_ahead(iter(range(10_007)), chunk=100, depth=2)) == list(range(10_007))


def test_an_error_while_reading_reaches_the_consumer_after_the_items_before_it():
    def source():
        yield from range(5)
        raise ValueError("bad JSONL line")

    seen = []
    with pytest.raises(ValueError, match="bad JSONL line"):
        for item in read_ahead(source(), chunk=3, depth=2):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_the_reader_runs_at_most_depth_chunks_ahead():
    produced = []

    def source():
        for n in range(1_000):
            produced.append(n)
            yield n

    items = read_ahead(source(), chunk=10, depth=3)
    assert next(items) == 0
    time.sleep(0.3)  # give the thread every chance to run ahead
    # 3 chunks buffered, one taken by the consumer, one being filled.
    assert len(produced) <= 10 * 5 + 1
    items.close()


def test_closing_early_stops_the_reader_thread():
    def endless():
        n = 0
        while True:
            yield n
            n += 1

    before = {t.ident for t in threading.enumerate() if t.name == "read-ahead"}
    items = read_ahead(endless(), chunk=10, depth=2)
    assert next(items) == 0
    items.close()
    alive = [t for t in threading.enumerate() if t.name == "read-ahead" and t.ident not in before]
    assert alive == []
