"""A measured phase in a fresh process: ``python -m bench.worker PHASE CONTEXT_JSON``.

A fresh process per phase makes peak RSS the phase's own (seeding and the other phase
are not in it). Prints one JSON line of figures on stdout.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    phase, raw = argv[1], argv[2]
    from bench.context import Context
    from bench.environment import setup_django

    setup_django()
    from bench.measure import Measured, peak_rss_mb
    from bench.scenarios import SCENARIOS

    ctx = Context.loads(raw)
    scenario = SCENARIOS[ctx.scenario]
    function = getattr(scenario, phase)  # run, baseline or prepare_served
    import resource

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    cpu_before = cpu()
    with Measured() as measured:
        result = function(ctx)
    cpu_used = cpu() - cpu_before
    items = result.pop("items", 0)  # prepare_served moves no items of its own
    timed = result.pop("loop_seconds", None)  # the per-item loop alone, without its setup
    if timed:
        measured.wall = timed
    figures = {
        "wall_seconds": round(measured.wall, 3),
        "items": items,
        "items_per_second": round(items / measured.wall, 1) if measured.wall and items else None,
        "peak_rss_mb": peak_rss_mb(),
        # CPU time is what the machine's load does not stretch (wall time is, on shared cores).
        "cpu_seconds": round(cpu_used, 2),
        "sql_queries": measured.sql.total,
        "sql_per_batch": measured.sql.batch_figures(),
        "http_requests": measured.http.count,
        **result,
    }
    print(json.dumps(figures, default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
