"""The final JSON line: the run's figures, the naive baseline's, the ratio and the targets."""

from __future__ import annotations

import os
from dataclasses import dataclass

MILLION = 1_000_000
SPEEDUP_TARGET = 20.0
REPOLL_SLACK = 4  # statements: two re-polls of a batch still processing


@dataclass(frozen=True)
class Target:
    """A target on one figure of the report, e.g. ``Target("wall_seconds_at_1m", "<=", 600)``."""

    figure: str
    op: str  # "<=" or ">="
    limit: float
    note: str = ""

    def check(self, value) -> bool | None:
        if value is None:
            return None
        return value <= self.limit if self.op == "<=" else value >= self.limit


def per_5000(sql_queries: int, items: int) -> float | None:
    return round(sql_queries * 5000 / items, 1) if items else None


def baseline_figures(base: dict, items_total: int) -> dict:
    """The baseline as measured on its subset, and extrapolated linearly to the run's items."""
    items = base["items"] or 0
    rate = base["items_per_second"]
    scale = items_total / items if items else None
    return {
        **{k: v for k, v in base.items() if k not in ("sql_per_batch",)},
        "sql_queries_per_5000_batch": per_5000(base["sql_queries"], items),
        "extrapolated": bool(scale and scale != 1),
        "extrapolated_wall_seconds": round(items_total / rate, 1) if rate else None,
        "extrapolated_http_requests": round(base["http_requests"] * scale) if scale else None,
        "note": f"naive per-item loop measured on {items:,} items; wall time and counts extrapolated linearly "
        f"to {items_total:,} items"
        if scale and scale != 1
        else "naive per-item loop, measured on every item",
    }


def build_report(scenario, ctx, run: dict, base: dict | None, *, load_before, load_after) -> dict:
    items = run["items"] or 0
    sql = run.get("sql_per_batch") or {}
    report = {
        "scenario": ctx.scenario,
        "db": ctx.db,
        "variants": ctx.variants,
        "wall_seconds": run["wall_seconds"],
        "items_per_second": run["items_per_second"],
        "peak_rss_mb": run["peak_rss_mb"],
        "sql_queries_per_5000_batch": (sql.get("median") if sql.get("batches") else scenario.sql_per_5000(run)),
        "http_requests": run["http_requests"],
        "items": items,
        "sql_queries": run["sql_queries"],
    }
    if sql.get("batches"):
        report["sql_queries_per_batch_range"] = [sql["min"], sql["max"]]
        report["batches"] = sql["batches"]
        # Constant: every full batch (the last, partial one aside) ran the same statements, give or
        # take the re-polls of a batch Meta had not finished yet (2 statements each).
        report["sql_constant_per_batch"] = sql["max"] - sql["min"] <= REPOLL_SLACK if sql["batches"] > 2 else None
    report.update({k: v for k, v in run.items() if k not in report and k not in ("sql_per_batch",)})
    if scenario.SCALES_WITH_CATALOG:
        report["wall_seconds_at_1m"] = round(run["wall_seconds"] * MILLION / ctx.variants, 1)
        # Load-independent: CPU of our process and of the server (the sandbox), per item and at 1M.
        if items:
            report["cpu_ms_per_item"] = round(run["cpu_seconds"] * 1000 / items, 3)
            report["server_cpu_ms_per_item"] = round(run["server_cpu_seconds"] * 1000 / items, 3)
            report["cpu_seconds_at_1m"] = round(
                (run["cpu_seconds"] + run["server_cpu_seconds"]) * MILLION / ctx.variants, 1
            )
            # Ours alone, without the sandbox standing in for Meta or Shopify (issue 21's CPU targets).
            report["our_cpu_seconds_at_1m"] = round(run["cpu_seconds"] * MILLION / ctx.variants, 1)
        if run.get("our_seconds") is not None:
            report["our_seconds_at_1m"] = round(run["our_seconds"] * MILLION / ctx.variants, 1)
    if base is not None:
        report["baseline"] = baseline_figures(base, scenario.baseline_total(ctx, run))
        report["speedup"] = scenario.speedup(run, base)
    else:
        report["baseline"], report["speedup"] = None, None
    official = ctx.db == "postgres" and ctx.variants == MILLION
    targets = {}
    for target in [*scenario.TARGETS, Target("speedup", ">=", SPEEDUP_TARGET)]:
        value = report.get(target.figure)
        targets[target.figure] = {
            "target": f"{target.op} {target.limit:g}",
            "value": value,
            "pass": target.check(value),
            **({"note": target.note} if target.note else {}),
        }
    report["targets"] = targets
    report["targets_official"] = official
    report["targets_note"] = (
        "measured at the targets' conditions (PostgreSQL, 1,000,000 variants)"
        if official
        else f"targets are set for PostgreSQL at 1,000,000 variants; this run is {ctx.db} at {ctx.variants:,} "
        "(time targets use wall_seconds_at_1m, a linear projection)"
    )
    report["machine"] = {
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
    }
    return report
