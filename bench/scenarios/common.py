"""Helpers the scenarios share."""

from __future__ import annotations

import statistics


def rate_speedup(run: dict, base: dict) -> float | None:
    """Items per second of the run over the baseline's."""
    if not run.get("items_per_second") or not base.get("items_per_second"):
        return None
    return round(run["items_per_second"] / base["items_per_second"], 1)


def sql_per_5000(run: dict) -> float | None:
    items = run.get("items") or 0
    return round(run["sql_queries"] * 5000 / items, 1) if items else None


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 50 samples is the 48th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def latency_figures(samples: list[float]) -> dict:
    ms = [s * 1000 for s in samples]
    return {
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "max_ms": round(max(ms), 1),
        "requests": len(ms),
    }


def bench_catalog():
    from catalog.models import Catalog

    from ..seed import TENANT_SLUG

    return Catalog.objects.select_related("connection", "store").get(tenant__slug=TENANT_SLUG)
