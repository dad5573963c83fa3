"""Bench databases: a fresh one per run, cloned from cached, already-seeded templates.

Seeding a million variants takes minutes, so the seeded state is kept as a template
(PostgreSQL: a template database, ``CREATE DATABASE ... TEMPLATE``; SQLite: a file copy)
named after the code that shapes its data (the seeding code, the generator, the item
mapping that yields the payload hashes): change any of those files and the name changes
(older templates of the same kind are dropped). A restored template is migrated forward.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .environment import PG_NAME, PG_SERVER, REPO

SQLITE_CACHE = Path(os.environ.get("BENCH_CACHE_DIR", Path(tempfile.gettempdir()) / "galantis-bench-cache"))
# Files whose content decides what a seeded database holds. The item mapping
# (catalog/items.py) decides the stored payload hashes too, but it changes often without
# changing its output: a restored catalog template is checked by recomputing a sample of
# hashes instead (bench.cli.template_is_current).
SEED_SOURCES = ("bench/seed.py", "sandbox/shopify/generator.py", "sandbox/shopify/loading.py")


def code_hash(kind: str) -> str:
    """Hash of the seeding code: part of every template's name.

    Migrations are not in it: a restored template is migrated forward (usually a no-op),
    so a new migration elsewhere does not cost a million-variant re-seed.
    """
    digest = hashlib.sha256(kind.encode())
    for name in SEED_SOURCES:
        path = REPO / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:10]


@dataclass
class BenchDatabase:
    """Where this run's database lives and how to save / restore its seeded template."""

    engine: str  # "postgres" or "sqlite"
    url: str
    name: str  # PG database name or SQLite file path
    # The connection whose advisory lock holds the database for this run (see hold()).
    holder: object | None = field(default=None, repr=False, compare=False)

    @classmethod
    def create(cls, engine: str) -> BenchDatabase:
        if engine == "postgres":
            name = os.environ.get("BENCH_PG_NAME", PG_NAME)
            return cls(engine, f"{PG_SERVER}/{name}", name)
        path = Path(tempfile.mkdtemp(prefix="galantis-bench-")) / "bench.sqlite3"
        return cls(engine, f"sqlite:///{path}", str(path))

    def hold(self) -> None:
        """Hold this run's database until the process ends; stop at once if another run holds it.

        A run drops and re-creates its database (``WITH (FORCE)``): a second bench started
        on the same name would pull it from under the first, mid-seed or mid-measurement.
        A session advisory lock on the server (released when this process exits, however it
        exits) makes the second one stop before it touches anything. SQLite runs each get a
        file of their own.
        """
        if self.engine != "postgres":
            return
        import psycopg

        connection = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)
        key = f"galantis-bench:{self.name}"
        if not connection.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key]).fetchone()[0]:
            connection.close()
            raise SystemExit(
                f"bench: another run is using the PostgreSQL database {self.name!r}; wait for it to end, "
                f"or give this run a database of its own: BENCH_PG_NAME={self.name}_2 python -m bench ..."
            )
        self.holder = connection  # kept open: the lock lives as long as this connection

    def release(self) -> None:
        """Let another run have this database (done anyway when the process exits)."""
        if self.holder is not None:
            self.holder.close()
            self.holder = None

    # -- templates -------------------------------------------------------------------------

    def template_prefix(self, kind: str, variants: int) -> str:
        # PostgreSQL templates follow the run's database name (BENCH_PG_NAME), so two people
        # benchmarking different code on one server never drop each other's seeded templates.
        owner = self.name if self.engine == "postgres" else PG_NAME
        return f"{owner}_tpl_{kind}_{variants}_"

    def template_name(self, kind: str, variants: int) -> str:
        return self.template_prefix(kind, variants) + code_hash(kind)

    def restore(self, kind: str, variants: int) -> bool:
        """Make this run's database a copy of the seeded template; False when there is none."""
        template = self.template_name(kind, variants)
        if self.engine == "postgres":
            with _pg_admin() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template])
                if cur.fetchone() is None:
                    self.recreate_empty()
                    return False
                cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{template}"')
            return True
        cached = SQLITE_CACHE / f"{template}.sqlite3"
        if not cached.exists():
            return False
        shutil.copyfile(cached, self.name)
        return True

    def recreate_empty(self) -> None:
        if self.engine == "postgres":
            with _pg_admin() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{self.name}"')

    def save(self, kind: str, variants: int) -> None:
        """Keep the current (seeded) database as the template for later runs."""
        from django.db import connections

        connections.close_all()
        template = self.template_name(kind, variants)
        prefix = self.template_prefix(kind, variants)
        if self.engine == "postgres":
            with _pg_admin() as cur:
                # Not LIKE: "_" is its wildcard, and the 10,000 prefix would match the 100,000 template.
                cur.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [prefix])
                for (old,) in cur.fetchall():
                    cur.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{template}" TEMPLATE "{self.name}"')
            return
        SQLITE_CACHE.mkdir(parents=True, exist_ok=True)
        for old in SQLITE_CACHE.glob(prefix + "*.sqlite3"):
            old.unlink(missing_ok=True)
        partial = SQLITE_CACHE / f"{template}.{os.getpid()}.part"
        shutil.copyfile(self.name, partial)
        os.replace(partial, SQLITE_CACHE / f"{template}.sqlite3")

    def drop(self) -> None:
        """Remove this run's database (templates stay)."""
        if self.engine == "sqlite":
            shutil.rmtree(Path(self.name).parent, ignore_errors=True)


class _pg_admin:  # noqa: N801 - used as a context manager like a function
    """An autocommit cursor on the server's ``postgres`` database (CREATE/DROP DATABASE)."""

    def __enter__(self):
        import psycopg

        self.conn = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)
        return self.conn.cursor()

    def __exit__(self, *exc) -> None:
        self.conn.close()
