"""The application (with the sandbox) served over real HTTP by gunicorn, in a subprocess.

Production shape: gunicorn's threaded workers, DEBUG off, on 127.0.0.1 only. It runs
against the bench database, so the scenario and the sandbox see the same data.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from .environment import REPO, py_spy_record

WORKERS = int(os.environ.get("BENCH_SERVER_WORKERS", 2))  # one per core
THREADS = int(os.environ.get("BENCH_SERVER_THREADS", 4))
READY_TIMEOUT = 60.0


def ensure_port_free(port: int) -> None:
    """Fail early, before the database is touched, when something already listens on ``port``."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is in use (another bench run?): stop what listens there or pass --port")


class Server:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env = {**os.environ, **env}
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        ensure_port_free(self.port)
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "galantis.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--timeout",
            "600",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bench server exited with {self.process.returncode}")
            try:
                requests.get(f"{self.url}/admin/login/", timeout=10)
                return
            except requests.RequestException:
                time.sleep(0.2)
            except BaseException:
                self.stop()
                raise
        self.stop()
        raise RuntimeError(f"the bench server did not answer on {self.url} within {READY_TIMEOUT:.0f} s")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the server's master and live workers."""
        ticks = os.sysconf("SC_CLK_TCK")
        pids = [self.process.pid]
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            pids += [int(pid) for pid in children.read_text().split()]
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def profile(self, output) -> subprocess.Popen:
        """py-spy on the server and its workers until SIGINT; collapsed stacks to ``output``."""
        return subprocess.Popen(
            py_spy_record(output, "--subprocesses", "--pid", str(self.process.pid)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
