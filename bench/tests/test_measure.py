"""Figures the bench takes inside a measured process."""

import subprocess
import sys

from bench.environment import REPO

CHILD = "from bench.measure import peak_rss_mb; print(peak_rss_mb())"


def test_peak_rss_is_the_process_own_not_its_parents():
    # A parent holding 300 MB starts a fresh interpreter, as the orchestrator starts a worker.
    ballast = bytearray(300 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page: resident, not just reserved
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, capture_output=True, text=True, check=True)
    assert float(out.stdout) < 150, out.stdout
    del ballast
