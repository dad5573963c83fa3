"""manage.py qcluster stops within seconds of SIGTERM, even with a worker in a long task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _manage(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


@pytest.mark.timeout(200)
def test_a_sigtermed_cluster_with_a_busy_worker_stops_within_ten_seconds(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "True",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'q.sqlite3'}",
        "Q_WORKERS": "1",
        "Q_STOP_GRACE": "3",
    }
    env.pop("REDIS_URL", None)
    _manage(env, "migrate", "--noinput", "-v0")
    # A task that would hold a worker for a minute (a push waiting on Meta looks the same).
    _manage(env, "shell", "-c", "from django_q.tasks import async_task; async_task('time.sleep', 60)")
    log = (tmp_path / "q.log").open("w")
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "processing" not in (tmp_path / "q.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "processing" in (tmp_path / "q.log").read_text(), "the worker never picked the task up"
        started = time.monotonic()
        cluster.send_signal(signal.SIGTERM)
        cluster.wait(timeout=30)
        assert time.monotonic() - started < 10
        # Nothing of the cluster is left running (killed children may linger as zombies until reaped).
        time.sleep(1)
        ps = subprocess.run(["ps", "-o", "pid=,stat=", "-s", str(cluster.pid)], capture_output=True, text=True)
        running = [line for line in ps.stdout.splitlines() if line.split()[1][0] != "Z"]
        assert running == [], ps.stdout + (tmp_path / "q.log").read_text()
    finally:
        if cluster.poll() is None:
            os.killpg(cluster.pid, signal.SIGKILL)
