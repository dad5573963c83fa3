"""Figures taken inside a measured process: wall time, peak RSS, SQL statements, HTTP requests."""

from __future__ import annotations

import resource
import statistics
import threading
import time
from collections.abc import Callable

import requests

# A new SyncBatch row starts a batch: statements are attributed to the batch they follow.
BATCH_MARKER = 'INSERT INTO "catalog_syncbatch"'


def peak_rss_mb() -> float:
    """Peak resident set size of this process's own memory so far, in MB.

    ``VmHWM`` of /proc/self/status, not ``getrusage().ru_maxrss``: Linux carries the parent's
    peak into ``ru_maxrss`` across fork + exec, so a worker started by an orchestrator that had
    just seeded a million variants reported the orchestrator's 757 MB as its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class SqlCounter:
    """Counts the SQL statements the measured code runs, per batch too.

    The measuring thread's connection, and those of the threads the sync engine starts to
    drive shards in parallel (``catalog.sync.run.SHARD_THREAD_PREFIX``). Each thread's
    statements are attributed to the batch that thread last started.
    """

    def __init__(self) -> None:
        import os

        self.total = 0
        self.per_batch: list[int] = []
        self.before_first_batch = 0
        self._lock = threading.Lock()
        self._thread = threading.local()  # .batch: index in per_batch of this thread's batch
        # BENCH_SQL_LOG=FILE: every statement with its batch number and its time (ms, round trip
        # included), to see what differs between batches and where the database's time goes.
        path = os.environ.get("BENCH_SQL_LOG")
        self.log = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115 - lives as long as the run

    def __call__(self, execute, sql, params, many, context):
        with self._lock:
            self.total += 1
            if sql.lstrip().startswith(BATCH_MARKER):
                self.per_batch.append(0)
                self._thread.batch = len(self.per_batch) - 1
            batch = getattr(self._thread, "batch", None)
            if batch is None:
                self.before_first_batch += 1
            else:
                self.per_batch[batch] += 1
        if not self.log:
            return execute(sql, params, many)
        started = time.perf_counter()
        try:
            return execute(sql, params, many)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.log.write(f"{len(self.per_batch)}\t{elapsed_ms:.1f}\t{' '.join(sql.split())[:300]}\n")

    def batch_figures(self) -> dict:
        """Statements per batch: median, min and max (the last, partial batch excluded when others exist)."""
        counts = self.per_batch[:-1] if len(self.per_batch) > 2 else self.per_batch
        if not counts:
            return {"median": None, "min": None, "max": None, "batches": 0}
        return {
            "median": statistics.median(counts),
            "min": min(counts),
            "max": max(counts),
            "batches": len(self.per_batch),
        }


class HttpCounter:
    """Counts every HTTP request sent through ``requests`` in this process (it still sends them)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._original: Callable | None = None

    def __enter__(self) -> HttpCounter:
        self._original = original = requests.Session.send
        counter = self

        def send(session, request, **kwargs):
            with counter._lock:
                counter.count += 1
            return original(session, request, **kwargs)

        requests.Session.send = send
        return self

    def __exit__(self, *exc) -> None:
        requests.Session.send = self._original


class Measured:
    """Wall time, SQL and HTTP counts of a block, with optional progress from a sampler thread."""

    def __init__(self) -> None:
        self.sql = SqlCounter()
        self.http = HttpCounter()
        self.wall = 0.0

    def __enter__(self) -> Measured:
        from django.db import connection
        from django.db.backends.signals import connection_created

        self._wrapper = connection.execute_wrapper(self.sql)
        self._wrapper.__enter__()
        connection_created.connect(self._count_engine_thread, dispatch_uid="bench-sql-counter")
        self.http.__enter__()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._start
        from django.db.backends.signals import connection_created

        self.http.__exit__(*exc)
        connection_created.disconnect(dispatch_uid="bench-sql-counter")
        self._wrapper.__exit__(*exc)

    def _count_engine_thread(self, sender, connection, **kwargs) -> None:
        from catalog.sync.run import SHARD_THREAD_PREFIX

        if threading.current_thread().name.startswith(SHARD_THREAD_PREFIX):
            connection.execute_wrappers.append(self.sql)


class ProgressSampler:
    """A tqdm bar on a terminal (stderr), advanced by polling ``done()`` from a thread."""

    def __init__(self, total: int, desc: str, done: Callable[[], int], every: float = 1.0) -> None:
        import sys

        self.enabled = sys.stderr.isatty()
        self.total, self.desc, self.done, self.every = total, desc, done, every
        self._stop = threading.Event()

    def __enter__(self) -> ProgressSampler:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=self.desc, unit=" items", dynamic_ncols=True)
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()
        return self

    def _loop(self) -> None:
        from django.db import connection

        try:
            while not self._stop.wait(self.every):
                self.bar.n = self.done()
                self.bar.refresh()
        finally:
            connection.close()

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._stop.set()
            self.thread.join()
            self.bar.n = self.done()
            self.bar.close()
