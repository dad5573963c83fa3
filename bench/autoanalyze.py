"""Stand in for autovacuum's ANALYZE while a scenario runs, when the server has it turned off.

The machines' PostgreSQL is configured for CI (``autovacuum = off``). A production server
analyses a table once ``n_mod_since_analyze`` passes ``autovacuum_analyze_threshold +
autovacuum_analyze_scale_factor × reltuples``, checked every ``autovacuum_naptime``. Without
that, a table that grows during the measured run keeps the statistics it had when it was
empty: the sandbox's items table, empty at the start of a replace feed and a million rows
at its end, is read with plans made for a table of zero rows (each 1,000-row lookup scans
the whole catalog; figures in bench/README.md, "History"), a state a production database
is in for at most a minute. This thread applies the same rule with the same
settings, so the figures are those of a normally configured server. Its work is the
database's, not counted in our CPU, as autovacuum's is not.
"""

from __future__ import annotations

import threading
import time

ANALYZE_DUE = """
SELECT s.schemaname, s.relname
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.n_mod_since_analyze > %s + %s * greatest(c.reltuples, 0)
"""


class AutoAnalyze:
    """``with AutoAnalyze(url):`` — analyse due tables every naptime while the block runs."""

    def __init__(self, url: str | None, *, naptime: float | None = None) -> None:
        self.url = url
        self._naptime_override = naptime
        self.active = False
        self.reason = ""
        self.analyzes = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> AutoAnalyze:
        if not self.url:
            self.reason = "not PostgreSQL"
            return self
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            settings = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN ('autovacuum', 'autovacuum_naptime',"
                    " 'autovacuum_analyze_threshold', 'autovacuum_analyze_scale_factor')"
                ).fetchall()
            )
        if settings.get("autovacuum") == "on":
            self.reason = "autovacuum is on: the server analyses by itself"
            return self
        self.active = True
        self.reason = "autovacuum is off on this server: its ANALYZE rule applied by the bench"
        self._naptime = self._naptime_override or float(settings.get("autovacuum_naptime", 60))
        self._threshold = int(settings.get("autovacuum_analyze_threshold", 50))
        self._scale = float(settings.get("autovacuum_analyze_scale_factor", 0.1))
        self._thread = threading.Thread(target=self._loop, name="bench-autoanalyze", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)

    def _loop(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self._naptime):
                for schema, table in conn.execute(ANALYZE_DUE, [self._threshold, self._scale]).fetchall():
                    if self._stop.is_set():
                        return
                    started = time.monotonic()
                    conn.execute(f'ANALYZE "{schema}"."{table}"')
                    self.analyzes += 1
                    self.seconds += time.monotonic() - started

    def summary(self) -> dict:
        return {
            "emulated": self.active,
            "note": self.reason,
            "analyzes": self.analyzes,
            "seconds": round(self.seconds, 1),
        }
