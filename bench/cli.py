"""``python -m bench SCENARIO [--variants N] [--db sqlite|postgres]``: run one benchmark.

``python -m bench chaos ...`` runs the fault suite instead (bench/chaos/).

Steps: a fresh database (a copy of the cached seeded template, or migrated and seeded
now), the scenario's own preparation, the app with the sandbox served by gunicorn on
127.0.0.1, the measured run and the naive baseline each in a fresh process, then one
JSON line on stdout (the last line) with the figures, the ratio and the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from .context import Context
from .database import BenchDatabase
from .environment import DEFAULT_PORT, REPO, apply, bench_env, py_spy_record, setup_django
from .report import build_report
from .server import ensure_port_free

DEFAULT_BASELINE_ITEMS = 1000


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from .scenarios import SCENARIOS

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--variants", type=int, default=10_000, help="catalog size (default 10,000)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", DEFAULT_PORT)))
    parser.add_argument(
        "--baseline-items",
        type=int,
        default=DEFAULT_BASELINE_ITEMS,
        help="items the naive baseline runs on (its rate is extrapolated to N)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=None,
        help="health: requests per page (default 50); webhooks: webhooks in the burst",
    )
    parser.add_argument(
        "--shards", type=int, default=None, help="the catalog's shard_count (full_sync: 2 by default, the others 1)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="record py-spy profiles (collapsed stacks) of the measured run and of the server in DIR",
    )
    parser.add_argument("--fresh", action="store_true", help="seed again instead of using the cached template")
    parser.add_argument(
        "--broker",
        choices=("orm", "redis"),
        default="orm",
        help="Django-Q2 broker of the task cluster (freshness; redis: REDIS_URL or 127.0.0.1:6379/5)",
    )
    parser.add_argument(
        "--batch-delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long the sandbox Meta takes to process an items_batch call (default 0)",
    )
    args = parser.parse_args(argv)
    if args.variants < 1:
        parser.error("--variants must be at least 1")
    return args


def run_phase(phase: str, ctx: Context, env: dict[str, str], profile: Path | None = None) -> dict:
    """Run ``phase`` in a fresh process; return its figures (its last stdout line).

    With ``profile``, the process runs under py-spy, which writes its collapsed stacks there.
    """
    command = [sys.executable, "-m", "bench.worker", phase, ctx.dumps()]
    if profile is not None:
        command = py_spy_record(profile, "--", *command)
    done = subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: the {phase} phase of {ctx.scenario} failed (exit {done.returncode})")
    # The last JSON line (py-spy, when profiling, prints a line of its own after it).
    return json.loads(next(line for line in reversed(done.stdout.splitlines()) if line.startswith("{")))


def prepare_database(db: BenchDatabase, kind: str, variants: int, fresh: bool) -> None:
    """Restore the seeded template, or migrate and seed now (and keep it as the template)."""
    from django.core.management import call_command

    from . import seed

    started = time.monotonic()
    if not fresh and db.restore(kind, variants):
        call_command("migrate", verbosity=0, interactive=False)  # new migrations since the template
        if template_is_current(kind):
            log(f"restored the seeded {kind} template ({variants:,} variants) in {time.monotonic() - started:.1f} s")
            return
        log("the template's payload hashes differ from what catalog/items.py computes now: seeding again")
    db.recreate_empty()
    call_command("migrate", verbosity=0, interactive=False)
    log(f"migrated in {time.monotonic() - started:.1f} s; seeding {variants:,} variants ({kind})")
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=variants, desc=f"seeding {kind}", unit=" variants", dynamic_ncols=True)
    seeder = seed.seed_catalog if kind == "catalog" else seed.seed_shop
    seeder(variants, progress=bar.update if bar else None)
    if bar:
        bar.close()
    db.save(kind, variants)
    log(f"seeded and saved the template in {time.monotonic() - started:.1f} s")


def settle(db: BenchDatabase) -> None:
    """Vacuum and analyse after seeding and preparation, as autovacuum would in production.

    Seeding and a scenario's preparation rewrite up to a million rows in seconds; measured
    straight after, PostgreSQL has no statistics for them and every page reads dead rows,
    a state a live database is in only briefly. Not timed.
    """
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if db.engine == "postgres" else "ANALYZE")
    log(f"vacuumed and analysed in {time.monotonic() - started:.1f} s")


def template_is_current(kind: str, sample: int = 300) -> bool:
    """True when a sample of the restored variants maps to the payload hashes stored with them.

    The item mapping is tuned often without changing its output; re-seeding a million
    variants for each such change would cost minutes, serving stale hashes would falsify
    every figure. A random sample decides.
    """
    from catalog import item_state
    from catalog.models import Variant

    if kind != "catalog":
        return True
    rows = Variant.objects.select_related("product__store").order_by("?")[:sample]
    for variant in rows:
        stored = (variant.payload_hash, variant.meta_status, variant.last_error)
        item_state.refresh_variant(variant, variant.product, variant.product.store)
        if (variant.payload_hash, variant.meta_status, variant.last_error) != stored:
            return False
    return True


def collect_static() -> None:
    """DEBUG is off: the admin needs the static manifest; rebuilt when a static file is newer."""
    import fcntl

    from django.conf import settings
    from django.core.management import call_command

    root = Path(settings.STATIC_ROOT)
    manifest = root / "staticfiles.json"
    sources = [p for p in REPO.glob("*/static/**/*") if ".venv" not in p.parts and p.is_file()]
    newest = max((p.stat().st_mtime for p in sources), default=0)
    root.mkdir(parents=True, exist_ok=True)
    # Several benches start at once (the smoke test runs all six): on a fresh clone each
    # found no manifest and they collected into the same directory together, one deleting
    # the other's temporary files. One collects; the others wait, then find it fresh.
    with open(root / ".bench-collectstatic.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or manifest.stat().st_mtime < newest:
            call_command("collectstatic", verbosity=0, interactive=False)


def _terminate(signum, frame) -> None:
    raise SystemExit(f"bench: stopped by signal {signum}")


def meta_server_of(scenario) -> str:
    """Where the sandbox's Graph API is served: "shared" (the application's server) or "separate".

    A scenario whose figures would otherwise include Meta's calls waiting behind our own
    requests in one server's threads (freshness: a burst of 2,000 webhooks fills them while
    a push calls ``items_batch``) asks for its own server, as Meta's API is not ours;
    ``BENCH_META_SERVER=shared|separate`` overrides it for an A/B.
    """
    chosen = os.environ.get("BENCH_META_SERVER") or getattr(scenario, "META_SERVER", "shared")
    if chosen not in ("shared", "separate"):
        raise SystemExit(f"bench: BENCH_META_SERVER must be shared or separate, not {chosen!r}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["chaos"]:
        # The fault suite: its own flags and output (bench/chaos/, docs/reliability.md).
        from .chaos import main as chaos_main

        return chaos_main(argv[1:])
    # A SIGTERM (timeout, Ctrl-C in a wrapper) still stops the server and removes the database.
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args(argv)
    db = BenchDatabase.create(args.db)
    # Both checks come before the database is dropped and restored: a second run started
    # by mistake stops without harming the first.
    db.hold()
    from .scenarios import SCENARIOS

    scenario = SCENARIOS[args.scenario]
    meta_port = args.port + 1 if meta_server_of(scenario) == "separate" else None
    try:
        for port in filter(None, (args.port, meta_port)):
            ensure_port_free(port)
    except RuntimeError as error:
        raise SystemExit(f"bench: {error}") from None
    env = bench_env(db.url, args.port)
    if meta_port:
        env["META_GRAPH_URL"] = f"http://127.0.0.1:{meta_port}/sandbox/graph"
    env.update(getattr(scenario, "ENV", {}))  # the scenario's own settings, for every process
    if args.broker == "redis":
        env["REDIS_URL"] = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"
    if args.batch_delay is not None:
        env["SANDBOX_BATCH_DELAY_SECONDS"] = str(args.batch_delay)
    apply(env)
    load_before = os.getloadavg()
    try:
        setup_django()
        prepare_database(db, scenario.SEED_KIND, args.variants, args.fresh)
        ctx = Context(
            scenario=args.scenario,
            db=args.db,
            variants=args.variants,
            site_url=f"http://127.0.0.1:{args.port}",
            baseline_items=min(args.variants, args.baseline_items),
            samples=args.samples,
            shards=args.shards,
        )
        from django.db import connections

        from .autoanalyze import AutoAnalyze
        from .server import Server

        collect_static()
        ctx.extra = scenario.prepare(ctx) or {}
        settle(db)
        connections.close_all()
        analyzer = AutoAnalyze(db.url if db.engine == "postgres" else None)
        meta = Server(env, meta_port) if meta_port else nullcontext()
        with analyzer, Server(env, args.port) as server, meta as meta_server:
            if hasattr(scenario, "prepare_served"):
                # Preparation that needs the sandbox over HTTP (an earlier sync): not timed.
                log(f"{args.scenario}: preparing with the server up (not measured)")
                prepared = run_phase("prepare_served", ctx, env)
                ctx.extra.update(prepared.get("extra", {}))
                settle(db)
                connections.close_all()
            log(f"{args.scenario}: measured run on {args.variants:,} variants ({args.db})")
            worker_profile = server_spy = None
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                worker_profile = args.profile / f"{args.scenario}-{args.db}-{args.variants}-worker.txt"
                server_spy = server.profile(args.profile / f"{args.scenario}-{args.db}-{args.variants}-server.txt")
            server_cpu = server.cpu_seconds()
            meta_cpu = meta_server.cpu_seconds() if meta_server else 0.0
            run = run_phase("run", ctx, env, worker_profile)
            run["server_cpu_seconds"] = round(server.cpu_seconds() - server_cpu, 2)
            if meta_server:
                # The sandbox Meta on its own server: its share, and the servers' total as before.
                run["meta_server_cpu_seconds"] = round(meta_server.cpu_seconds() - meta_cpu, 2)
                run["server_cpu_seconds"] = round(run["server_cpu_seconds"] + run["meta_server_cpu_seconds"], 2)
            run["meta_server"] = "separate" if meta_server else "shared"
            if server_spy is not None:
                server_spy.send_signal(signal.SIGINT)
                server_spy.wait(timeout=60)
            log(f"{args.scenario}: run took {run['wall_seconds']} s; naive baseline on {ctx.baseline_items:,} items")
            base = None
            if not args.no_baseline:
                server_cpu = server.cpu_seconds()
                base = run_phase("baseline", ctx, env)
                # What the server spent on the baseline (the naive webhook handler runs there).
                base["server_cpu_seconds"] = round(server.cpu_seconds() - server_cpu, 2)
        run["autoanalyze"] = analyzer.summary()
    finally:
        db.drop()
        db.release()
    report = build_report(scenario, ctx, run, base, load_before=load_before, load_after=os.getloadavg())
    print(json.dumps(report, default=str), flush=True)
    return 0
