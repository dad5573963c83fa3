"""Markdown rows for bench/README.md from saved runs: ``python -m bench.table OUT_FILE ...``.

Each file holds the stdout of one ``python -m bench`` run (its last line is the JSON).
Several files of the same scenario, database and size are one row with the medians.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict

COLUMNS = ("wall s", "items/s", "peak RSS MB", "SQL / 5,000", "HTTP", "baseline items/s", "speedup", "targets")


def key_figure(report: dict) -> str:
    """The scenario's headline figure besides the common ones."""
    name = report["scenario"]
    if name == "health":
        return (
            f"health p50/p95 {report['health_p50_ms']}/{report['health_p95_ms']} ms; admin changelist "
            f"p50/p95 {report['admin_variants_p50_ms']}/{report['admin_variants_p95_ms']} ms"
        )
    if name == "webhooks":
        return f"{report['accepted_per_second']} accepted/s, lost {report['lost']}, burst {report['burst']}"
    if name == "import":
        return (
            f"import {report.get('import_items_per_second')} variants/s after the file; "
            f"bulk file wait {report.get('bulk_file_wait_seconds')} s"
        )
    if name == "full_sync":
        per_batch = report.get("sql_queries_per_batch_range")
        return f"projected 1M: {report.get('wall_seconds_at_1m')} s; SQL per batch {per_batch}"
    return f"projected 1M: {report.get('wall_seconds_at_1m')} s"


def median(values):
    values = [v for v in values if isinstance(v, int | float)]
    return round(statistics.median(values), 1) if values else None


def main(paths: list[str]) -> int:
    groups = defaultdict(list)
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            lines = [line for line in handle.read().splitlines() if line.startswith("{")]
        if lines:
            report = json.loads(lines[-1])
            groups[(report["scenario"], report["db"], report["variants"])].append(report)
    print("| scenario | db | variants | runs | " + " | ".join(COLUMNS) + " | notes | load (1 min) |")
    print("|" + "---|" * (len(COLUMNS) + 6))
    for (scenario, db, variants), reports in sorted(groups.items()):
        first = reports[-1]
        targets = ", ".join(
            f"{name} {'✔' if t['pass'] else ('✘' if t['pass'] is False else '–')}"
            for name, t in first["targets"].items()
        )
        row = [
            median(r["wall_seconds"] for r in reports),
            median(r["items_per_second"] for r in reports),
            median(r["peak_rss_mb"] for r in reports),
            median(r["sql_queries_per_5000_batch"] for r in reports),
            median(r["http_requests"] for r in reports),
            median((r["baseline"] or {}).get("items_per_second") for r in reports),
            median(r["speedup"] for r in reports),
            targets,
        ]
        loads = "/".join(str(r["machine"]["load_before"][0]) for r in reports)
        cells = [scenario, db, f"{variants:,}", str(len(reports)), *[str(c) for c in row], key_figure(first), loads]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
