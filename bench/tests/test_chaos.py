"""``python -m bench chaos`` end to end at N=60 on SQLite, on a few scenarios.

A real run (its own temporary database, gunicorn on a free loopback port, real
``manage.py qcluster`` processes) in a process group of its own: on a timeout the whole
group (the run, gunicorn, the clusters) is stopped, as in test_smoke.py. Asserted: the
run exits 0, every chosen scenario prints ``passed`` with ``lost 0``, and the last line
is the JSON summary.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from bench.tests.test_smoke import REPO, free_port, stop_group

SCENARIOS = ["meta_errors", "token_revoked", "worker_killed"]
TIMEOUT = 240  # ~100 s alone on these machines; below pytest-timeout's 300 s


def marked_processes(mark: str) -> list[int]:
    """Pids of live processes whose environment carries ``mark`` (this test's run only)."""
    needle = f"CHAOS_TEST_MARK={mark}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if needle in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
    return found


def test_chaos_scenarios_recover_and_lose_nothing():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["BENCH_SERVER_WORKERS"] = "1"
    # The clusters run in process groups of their own (a scenario SIGKILLs one): the mark
    # finds whatever of this run would outlive it.
    mark = env["CHAOS_TEST_MARK"] = uuid.uuid4().hex
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench",
            "chaos",
            "--variants",
            "60",
            "--db",
            "sqlite",
            "--scenarios",
            ",".join(SCENARIOS),
            "--port",
            str(free_port()),
            "--deadline",
            "90",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        printed = stop_group(process)
        raise AssertionError(f"python -m bench chaos did not finish within {TIMEOUT} s:\n{printed[-3000:]}") from None
    except BaseException:
        stop_group(process)
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for pid in marked_processes(mark):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    lines = stdout.strip().splitlines()
    assert process.returncode == 0, stdout + stderr[-3000:]
    for name in SCENARIOS:
        line = next(line for line in lines if f" {name} " in line)
        assert " passed " in line and " lost 0 " in line, line
    summary = json.loads(lines[-1])
    assert summary["passed"] is True
    assert [r["scenario"] for r in summary["scenarios"]] == SCENARIOS
    assert all(r["lost"] == 0 and r["pending"] == 0 for r in summary["scenarios"])
