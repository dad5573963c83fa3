"""What the wave-2 scenarios (verdicts, drift, product_sets, conversions) share."""

from __future__ import annotations

import resource
import time


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Clock:
    """Wall and CPU time of a block: ``with Clock() as c: ...``; then ``c.wall``, ``c.cpu``."""

    wall = cpu = 0.0

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = cpu_seconds() - self._cpu


def synced_variants(catalog):
    """The catalog's variants Meta holds our current payload of (what verdicts and drift read)."""
    from catalog.models import Variant

    return Variant.objects.filter(catalog=catalog, meta_status=Variant.SyncStatus.SYNCED, excluded=False)


def per(value: float, count: int, digits: int = 3) -> float | None:
    return round(value / count, digits) if count else None
