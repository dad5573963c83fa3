"""``python -m bench chaos``: the sync engine under faults, checked item by item against Shopify.

Prints one line per scenario (outcome, pending / synced / failed / excluded at the end,
``lost`` which must be 0, time to recover) and, last, one JSON object with every figure.
Exits 0 only when every scenario passed (a scenario that does not apply to the database,
e.g. PostgreSQL-only, is skipped and not a failure). See docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time

from ..environment import apply
from ..server import Server, ensure_port_free
from .harness import DEFAULT_PORT, ChaosRun, Harness, log
from .scenarios import NotObserved, Scenario, resolve
from .verify import compare

DEFAULT_VARIANTS = 2000
DEFAULT_DEADLINE = 300.0  # seconds after the lift for every item to settle


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=DEFAULT_VARIANTS)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--scenarios", default="", help="comma-separated names or numbers (default: all)")
    parser.add_argument(
        "--broker",
        choices=("orm", "redis"),
        default="orm",
        help="Django-Q2 broker of the clusters (redis: CHAOS_REDIS_URL, default db 3)",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("CHAOS_PORT", DEFAULT_PORT)))
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="the catalog's shard_count; above 1 the replace feeds run too (see docs/reliability.md)",
    )
    parser.add_argument(
        "--clusters",
        type=int,
        default=1,
        help="qcluster processes every scenario starts (at least; two_clusters starts two anyway)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the last scenario's database (debugging)")
    parser.add_argument(
        "--deadline",
        type=float,
        default=DEFAULT_DEADLINE,
        help="seconds after a fault is lifted for every item to settle",
    )
    args = parser.parse_args(argv)
    if args.variants < 20:
        parser.error("--variants must be at least 20")
    return args


def run_one(harness: Harness, scenario: Scenario) -> dict:
    """Restore the catalog, run the scenario, wait for it to settle, verify; one result dict."""
    result = {"number": scenario.number, "scenario": scenario.name, "title": scenario.title}
    if scenario.function is None:
        return {**result, "outcome": "not implemented", "lost": None, "notes": []}
    if scenario.postgres_only and harness.engine != "postgres":
        return {**result, "outcome": "skipped (PostgreSQL only)", "lost": None, "notes": []}
    harness.restore()
    run = ChaosRun(harness, scenario.name, harness.worker_env(scenario.env))
    run.server = Server({**harness.base_env(), **scenario.env}, harness.port)
    started = time.monotonic()
    recover = None
    outcome = None
    try:
        run.server.start()
        try:
            scenario.function(run)
        except NotObserved as error:
            outcome = "failed"
            run.notes.append(f"fault not observed: {error}")
        recover = run.wait_settled()
        if run.after_settle is not None:
            run.after_settle()
    finally:
        run.stop()
        run.server.stop()
    from django.db import connections

    connections.close_all()
    verdict = compare(run.catalog())
    if outcome is None:
        outcome = "passed" if recover is not None and verdict.lost == 0 else "failed"
    return {
        **result,
        "outcome": outcome,
        **verdict.as_dict(),
        "recover_seconds": recover,
        "simulated_seconds": round(run.simulated_seconds),
        "recover_simulated_seconds": round(run.simulated_after_lift),
        "wall_seconds": round(time.monotonic() - started, 1),
        "ticker_errors": run.ticker.errors if run.ticker else 0,
        "notes": run.notes,
        "logs": str(harness.log_dir),
    }


def line(result: dict) -> str:
    head = f"{result['number']:>2} {result['scenario']:<22} {result['outcome']}"
    if result.get("lost") is None:
        return head
    recover = f"{result['recover_seconds']} s" if result.get("recover_seconds") is not None else "never"
    if result.get("recover_simulated_seconds"):
        recover += f" (+{result['recover_simulated_seconds']} s of Meta's waits skipped)"
    return (
        f"{head}  pending {result['pending']}  synced {result['synced']}  failed {result['failed']}  "
        f"excluded {result['excluded']}  lost {result['lost']}  recovered in {recover}"
    )


def _terminate(signum, frame) -> None:
    raise SystemExit(f"chaos: stopped by signal {signum}")


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args(argv)
    scenarios = resolve(args.scenarios)
    harness = Harness(
        db=args.db,
        variants=args.variants,
        port=args.port,
        broker=args.broker,
        deadline=args.deadline,
        shards=args.shards,
        clusters=args.clusters,
    )
    harness.db.hold()
    try:
        ensure_port_free(args.port)
    except RuntimeError as error:
        raise SystemExit(f"chaos: {error}") from None
    apply(harness.base_env())
    load_before = os.getloadavg()
    results = []
    try:
        from ..environment import setup_django

        setup_django()
        harness.seed()
        for scenario in scenarios:
            log(f"scenario {scenario.number} {scenario.name}: {scenario.title}")
            result = run_one(harness, scenario)
            results.append(result)
            print(line(result), flush=True)
            for note in result.get("notes", []):
                log(f"  {note}")
            if result.get("lost_examples"):
                log(f"  lost: {result['lost_reasons']} e.g. {result['lost_examples']}")
    finally:
        if args.keep:
            log(f"kept the database: {harness.db.url}")
        else:
            harness.drop()
        harness.db.release()
    ok = all(r["outcome"] == "passed" or r["outcome"].startswith("skipped") for r in results)
    summary = {
        "scenario": "chaos",
        "db": args.db,
        "broker": args.broker,
        "variants": args.variants,
        "shards": args.shards,
        "clusters": args.clusters,
        "passed": ok,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "scenarios": results,
    }
    print(json.dumps(summary, default=str), flush=True)
    return 0 if ok else 1
