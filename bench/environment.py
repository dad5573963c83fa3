"""The environment every bench process shares, set before Django is imported.

Settings are overridden through the environment (galantis.settings reads it with
django-environ), so the orchestrator, the sandbox server and the measured workers all
run the same configuration: production-like (DEBUG off), sandbox on, processing
delays of the sandbox at zero, quiet logs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_NAME = "galantis_bench"
DEFAULT_PORT = 8108

# Fixed, bench-only keys: long enough for the DEBUG=False checks, never used anywhere real.
BENCH_SECRET_KEY = "bench-only-secret-key-" + "x" * 40
BENCH_CRYPTOGRAPHY_KEY = "bench-only-field-encryption-key-" + "y" * 16


def bench_env(database_url: str, port: int) -> dict[str, str]:
    """Environment variables for every bench process (orchestrator, server, workers)."""
    site = f"http://127.0.0.1:{port}"
    return {
        "DJANGO_SETTINGS_MODULE": "bench.settings",  # the project's, plus bench/naive.py's routes
        "DATABASE_URL": database_url,
        "DEBUG": "False",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "CRYPTOGRAPHY_KEY": BENCH_CRYPTOGRAPHY_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "False",
        "SESSION_COOKIE_SECURE": "False",
        "CSRF_COOKIE_SECURE": "False",
        "SANDBOX_ENABLED": "True",
        "SITE_URL": site,
        "META_GRAPH_URL": f"{site}/sandbox/graph",
        # The sandbox answers at once: we measure our code, not an artificial delay.
        "SANDBOX_BATCH_DELAY_SECONDS": "0",
        "SANDBOX_SHOPIFY_BULK_DELAY_SECONDS": "0",
        "SANDBOX_SHOPIFY_WEBHOOK_RETRY_BASE_SECONDS": "0",
        "SYNC_POLL_DELAYS": "0",
        # The Shopify sandbox writes a bulk file slice by slice as it is polled: poll often.
        "SHOPIFY_BULK_POLL_SECONDS": "0.2",
        "SANDBOX_SHOPIFY_BULK_SLICE_SECONDS": "10",
        "META_RETRY_BASE_DELAY": "0.05",
        "CONN_MAX_AGE": "60",
        # BENCH_LOG_LEVEL=INFO shows the engine's own lines (claims, uploads, polls) with their times.
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "PYTHONUNBUFFERED": "1",
    }


def apply(env: dict[str, str]) -> None:
    """Put ``env`` in this process's environment (before Django is imported)."""
    os.environ.update(env)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def setup_django() -> None:
    import django

    django.setup()


def py_spy() -> str:
    """py-spy next to this interpreter (the venv), else on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else "py-spy"


def py_spy_record(output, *target: str) -> list[str]:
    """The py-spy command that samples ``target`` at 50 Hz into raw collapsed stacks at ``output``.

    ``target``: ``"--", *command`` to start a process, or ``"--subprocesses", "--pid", pid``.
    """
    return [py_spy(), "record", "--rate", "50", "--format", "raw", "--nonblocking", "--output", str(output), *target]
