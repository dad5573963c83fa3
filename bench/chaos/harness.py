"""What every fault scenario runs on: a fresh catalog, the app over HTTP, real Django-Q2 clusters.

One chaos run seeds once (a sandbox Shopify shop of N variants, imported over HTTP into
the bench catalog, a sandbox Meta business connected to it) and keeps that state as its
template; every scenario starts from a copy of it. The sync is driven by the task queue
only: ``manage.py qcluster`` subprocesses (own process groups, so a scenario can SIGKILL
one) run the tasks, and a ticker in this process enqueues the schedules' tasks every
second instead of Django-Q2's once a minute (``manage.py ensure_schedules`` has created
the schedules too; the clusters' own scheduler still runs them). Waits that Meta decides
(a rate-limit window, an outage's back-off) are skipped by moving the due times to now
(:meth:`ChaosRun.fast_forward`), never by sleeping minutes.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..environment import PG_SERVER, REPO

CHAOS_PG_NAME = "galantis_chaos"
DEFAULT_PORT = 8118
REDIS_DEFAULT = "redis://127.0.0.1:6379/3"
WORKER_APP_NAME = "galantis_chaos_worker"  # PostgreSQL application_name of the clusters' connections
# Tasks the schedules run (catalog/sync/schedule.py, catalog/shopify/schedules.py), and how
# often the ticker enqueues each (seconds): the real ratio (1 min / 5 min), sped up.
# The replace feed is left out: the template's catalog had one just now (see Harness.seed),
# so the full sync goes by the Batch API; the feed scenario queues its uploads itself.
TICKS = (
    ("catalog.tasks.push_due_catalogs", 1.0),
    ("catalog.tasks.confirm_due_batches", 1.0),
    ("catalog.tasks.sweep_sync", 3.0),
    ("catalog.tasks.sweep_shopify_webhooks", 3.0),
)
FEED_SCHEDULE = "catalog sync: replace and update feeds"
# The engine's own knobs, shortened for the run (the defaults are minutes to hours).
CHAOS_ENV = {
    "SANDBOX_BATCH_DELAY_SECONDS": "0.5",  # batches stay in flight a moment: kills land mid-confirm
    "SYNC_POLL_DELAYS": "0.5,1,2",
    "SYNC_PUSH_MAX_WAIT": "5",  # a killed worker's lost push task is replaced within seconds
    "SYNC_PUSH_LOST_AFTER": "15",
    "SYNC_OUTAGE_BACKOFF_MAX": "5",
    "SYNC_ERROR_PAUSE": "5",
    "SYNC_PERMISSION_RECHECK": "3",
    "META_RETRY_BASE_DELAY": "0.05",
    "META_RETRY_MAX_DELAY": "0.5",
    "META_TIMEOUT": "20",
    "META_TOKEN_RECHECK_SECONDS": "2",
    "Q_WORKERS": "2",
    "Q_TIMEOUT": "120",
    "Q_RETRY": "150",
}


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Cluster:
    """One ``manage.py qcluster`` in a process group of its own."""

    def __init__(self, env: dict[str, str], name: str, log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole cluster (sentinel, pusher, workers, monitor) at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is not None:
            self.kill()  # the group may outlive its leader
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        self.kill()


class Ticker(threading.Thread):
    """Enqueue the schedules' tasks through the broker, each at its own interval."""

    def __init__(self, extra: Callable[[], None] | None = None, feeds: bool = False) -> None:
        super().__init__(name="chaos-ticker", daemon=True)
        self.stopped = threading.Event()
        self.extra = extra
        self.errors = 0
        self.ticks = (*TICKS, ("catalog.tasks.push_due_feeds", 5.0)) if feeds else TICKS

    def run(self) -> None:
        from django.db import connection
        from django_q.tasks import async_task

        last = {func: 0.0 for func, _ in self.ticks}
        try:
            while not self.stopped.is_set():
                now = time.monotonic()
                for func, every in self.ticks:
                    if now - last[func] >= every:
                        try:
                            async_task(func, group="chaos-tick")
                        except Exception as error:  # noqa: BLE001 - a dropped connection (scenario 8)
                            self.errors += 1
                            log(f"ticker: {func} not enqueued ({error.__class__.__name__})")
                            connection.close()
                        last[func] = now
                if self.extra is not None:
                    self.extra()
                self.stopped.wait(0.25)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


@dataclass
class Settled:
    pending: int
    in_flight: int
    paused: str

    @property
    def done(self) -> bool:
        return not self.pending and not self.in_flight and not self.paused


@dataclass
class ChaosRun:
    """One scenario's processes and clock; created by :class:`Harness` for each scenario."""

    harness: Harness
    name: str
    env: dict[str, str]
    clusters: list[Cluster] = field(default_factory=list)
    ticker: Ticker | None = None
    lifted_at: float | None = None
    notes: list[str] = field(default_factory=list)
    simulated_seconds: float = 0.0
    simulated_at_lift: float = 0.0
    warp_after_lift: bool = False
    server: object | None = None  # the running bench.server.Server (a scenario may restart it)
    # A scenario's own condition for "settled" (e.g. every webhook processed), and a hook after it.
    extra_settled: Callable[[], bool] | None = None
    after_settle: Callable[[], None] | None = None

    # -- processes -----------------------------------------------------------------------

    def start_cluster(self, **env: str) -> Cluster:
        name = f"{self.name}-cluster-{len(self.clusters) + 1}"
        cluster = Cluster({**self.env, **env}, name, self.harness.log_dir)
        self.clusters.append(cluster)
        return cluster

    def restart_server(self, **env: str) -> None:
        """Serve the app and sandbox again with ``env`` on top (a sandbox setting changes)."""
        from ..server import Server

        self.server.stop()
        self.server = Server({**self.server.env, **env}, self.harness.port)
        self.server.start()

    def start_ticker(self) -> None:
        # With shards, each shard's replace feed runs too (docs/reliability.md: what they do).
        self.ticker = Ticker(extra=self._after_tick, feeds=self.harness.shards > 1)
        self.ticker.start()

    def _after_tick(self) -> None:
        if self.warp_after_lift and self.lifted_at is not None:
            self.fast_forward(polls=False)

    def stop(self) -> None:
        if self.ticker is not None:
            self.ticker.stop()
        for cluster in self.clusters:
            cluster.stop()

    # -- the catalog -----------------------------------------------------------------------

    def catalog(self):
        from ..scenarios.common import bench_catalog

        return bench_catalog()

    def settled(self) -> Settled:
        from catalog.models import SyncBatch, Variant

        catalog = self.catalog()
        pending = Variant.objects.filter(catalog=catalog, meta_status=Variant.SyncStatus.PENDING).count()
        in_flight = SyncBatch.objects.filter(catalog=catalog, state__in=SyncBatch.IN_FLIGHT_STATES).count()
        return Settled(pending, in_flight, catalog.pause_kind)

    def progress(self) -> float:
        """Share of the variants meant to be live that are SYNCED (the rest PENDING or in flight)."""
        from catalog.models import Variant

        counts = Variant.objects.filter(catalog=self.catalog(), excluded=False).status_counts()
        synced, pending = counts[Variant.SyncStatus.SYNCED], counts[Variant.SyncStatus.PENDING]
        return synced / ((synced + pending) or 1)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.2) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(step)
        self.notes.append(f"timed out waiting for {what}")
        return False

    def lift(self) -> None:
        """The fault is gone from now: recovery is timed from here."""
        self.lifted_at = time.monotonic()
        self.simulated_at_lift = self.simulated_seconds

    @property
    def simulated_after_lift(self) -> float:
        """Waits skipped after the lift (part of the time to recover, though not slept)."""
        return self.simulated_seconds - self.simulated_at_lift if self.lifted_at is not None else 0.0

    def wait_settled(self) -> float | None:
        """Seconds from the lift until no variant is PENDING, nothing in flight, nothing paused."""
        if self.lifted_at is None:
            self.lift()
        deadline = self.lifted_at + self.harness.deadline
        while time.monotonic() < deadline:
            state = self.settled()
            if state.done and (self.extra_settled is None or self.extra_settled()):
                return round(time.monotonic() - self.lifted_at, 1)
            time.sleep(0.5)
        state = self.settled()
        self.notes.append(f"not settled {self.harness.deadline:.0f} s after the lift: {state}")
        return None

    def fast_forward(self, *, polls: bool = True) -> float:
        """Let the time Meta or the engine asked to wait pass at once; return the seconds skipped.

        Every due time in the future (a catalog's pause, a batch's next poll, the Graph
        throttle's block, and the throttle's cool-down after a usage reading at its stop
        line) is moved to now, as if the clock had jumped there. ``polls=False`` leaves the
        batches' poll times alone (after a lift only Meta's waits are skipped).
        """
        from datetime import timedelta

        from django.conf import settings
        from django.db.models import Max
        from django.utils import timezone

        from catalog.models import Catalog, GraphThrottle, SyncBatch

        now = timezone.now()
        cooldown = timedelta(seconds=float(getattr(settings, "META_THROTTLE_COOLDOWN", 60)))
        stopped = GraphThrottle.objects.filter(
            usage_pct__gte=float(getattr(settings, "META_THROTTLE_STOP_PCT", 95)), updated_at__gt=now - cooldown
        )
        cooling = stopped.aggregate(m=Max("updated_at"))["m"]
        ahead = [
            Catalog.objects.filter(paused_until__gt=now).aggregate(m=Max("paused_until"))["m"],
            SyncBatch.objects.filter(state=SyncBatch.State.SENT, next_poll_at__gt=now).aggregate(m=Max("next_poll_at"))[
                "m"
            ]
            if polls
            else None,
            GraphThrottle.objects.filter(blocked_until__gt=now).aggregate(m=Max("blocked_until"))["m"],
            cooling + cooldown if cooling else None,
        ]
        skipped = max(((at - now).total_seconds() for at in ahead if at), default=0.0)
        if skipped <= 0:
            return 0.0
        Catalog.objects.filter(paused_until__gt=now).update(paused_until=now)
        if polls:
            SyncBatch.objects.filter(state=SyncBatch.State.SENT, next_poll_at__gt=now).update(next_poll_at=now)
        GraphThrottle.objects.filter(blocked_until__gt=now).update(blocked_until=now)
        stopped.update(updated_at=now - cooldown)
        self.simulated_seconds += skipped
        return skipped


class Harness:
    """The chaos run's database, template, server and per-scenario environment."""

    def __init__(
        self, *, db: str, variants: int, port: int, broker: str, deadline: float, shards: int = 1, clusters: int = 1
    ) -> None:
        from ..database import BenchDatabase

        self.engine = db
        self.variants = variants
        self.port = port
        self.broker = broker
        self.deadline = deadline
        self.shards = shards
        self.clusters = max(clusters, 1)
        os.environ.setdefault("BENCH_PG_NAME", CHAOS_PG_NAME)
        self.db = BenchDatabase.create(db)
        if db == "postgres" and not self.db.name.startswith(CHAOS_PG_NAME):
            raise SystemExit(f"chaos: the PostgreSQL database name must start with {CHAOS_PG_NAME!r}")
        self.template = f"{self.db.name}_tpl" if db == "postgres" else str(Path(self.db.name).with_suffix(".tpl"))
        self.log_dir = Path(tempfile.mkdtemp(prefix="galantis-chaos-logs-"))
        self.server = None

    # -- environment -------------------------------------------------------------------------

    def base_env(self) -> dict[str, str]:
        from ..environment import bench_env

        env = {**bench_env(self.db.url, self.port), **CHAOS_ENV}
        if self.broker == "redis":
            env["REDIS_URL"] = os.environ.get("CHAOS_REDIS_URL", REDIS_DEFAULT)
        else:
            env["REDIS_URL"] = ""
        return env

    def worker_env(self, overrides: dict[str, str]) -> dict[str, str]:
        # INFO: the clusters' logs (one file each in log_dir) say what the engine did.
        env = {**os.environ, **self.base_env(), "LOG_LEVEL": "INFO", **overrides}
        if self.engine == "postgres":
            env["DATABASE_URL"] = f"{self.db.url}?application_name={WORKER_APP_NAME}"
        return env

    # -- the template --------------------------------------------------------------------------

    def seed(self) -> None:
        """Seed the shop, import it into the catalog over HTTP, connect Meta; keep it as the template."""
        from datetime import timedelta

        from django.core.management import call_command
        from django.db import connections
        from django.utils import timezone
        from django_q.models import Schedule

        from catalog.models import Catalog, PushRequest
        from catalog.shopify.importer import import_store

        from .. import seed
        from ..cli import collect_static
        from ..server import Server

        started = time.monotonic()
        self.db.recreate_empty()
        call_command("migrate", verbosity=0, interactive=False)
        seed.seed_shop(self.variants)
        seed.point_store_at_server(f"http://127.0.0.1:{self.port}")
        seed.connect_meta()
        catalog = self.catalog()
        # ~20 Batch API calls whatever N: enough batches to kill or race mid-sync. One shard
        # (the default): see docs/reliability.md for what two shards' replace feeds do. The
        # faults are the Batch API's: new items go by it here (batch_creation), where by default
        # one replace feed would create the whole never-synced catalog (catalog.sync.creation).
        Catalog.objects.filter(pk=catalog.pk).update(
            max_batch_size=max(10, self.variants // 20), shard_count=self.shards, batch_creation=True
        )
        call_command("ensure_schedules", stdout=io.StringIO())
        # As if the hourly replace feed had just run: the clusters' scheduler leaves it alone.
        Schedule.objects.filter(name=FEED_SCHEDULE).update(next_run=timezone.now() + timedelta(days=1))
        collect_static()  # DEBUG is off: pages need the static manifest
        connections.close_all()
        with Server(self.worker_env({}), self.port):
            result = import_store(catalog.store, bulk=True)
        if result.variants_seen != self.variants:
            raise SystemExit(f"chaos: imported {result.variants_seen} variants, expected {self.variants}")
        # The import asked for a push (catalog.sync.push_requests) whose task each scenario's
        # fresh broker never holds: left in the template, the request would wait out its
        # lost-task timeout before any push, instead of the clusters pushing at once.
        PushRequest.objects.all().delete()
        connections.close_all()
        self._save_template()
        log(f"seeded and imported {self.variants:,} variants ({self.engine}) in {time.monotonic() - started:.1f} s")

    def catalog(self):
        from ..scenarios.common import bench_catalog

        return bench_catalog()

    def _save_template(self) -> None:
        from ..database import _pg_admin

        if self.engine == "postgres":
            with _pg_admin() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{self.template}" TEMPLATE "{self.db.name}"')
        else:
            shutil.copyfile(self.db.name, self.template)

    def restore(self) -> None:
        """Every scenario starts from the seeded, imported, never-synced catalog."""
        from django.db import connections

        from ..database import _pg_admin

        connections.close_all()
        if self.engine == "postgres":
            with _pg_admin() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.db.name}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{self.db.name}" TEMPLATE "{self.template}"')
        else:
            for suffix in ("-wal", "-shm"):
                Path(self.db.name + suffix).unlink(missing_ok=True)
            shutil.copyfile(self.template, self.db.name)
        if self.broker == "redis":
            import redis

            redis.Redis.from_url(self.base_env()["REDIS_URL"]).flushdb()

    def drop(self) -> None:
        from ..database import _pg_admin

        if self.engine == "postgres":
            with _pg_admin() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
                cur.execute(f'DROP DATABASE IF EXISTS "{self.db.name}" WITH (FORCE)')
        else:
            shutil.rmtree(Path(self.db.name).parent, ignore_errors=True)

    def terminate_worker_backends(self) -> int:
        """PostgreSQL: drop the clusters' connections that are inside a transaction or a statement."""
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                "AND application_name = %s AND state IN ('active', 'idle in transaction')",
                [self.db.name, WORKER_APP_NAME],
            ).fetchall()
        return sum(1 for (done,) in rows if done)
