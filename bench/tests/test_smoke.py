"""Every scenario runs end to end at N=200 on SQLite, so the benchmarks don't rot.

Each run is a real ``python -m bench`` process (its own temporary database, gunicorn on a
free loopback port, measured worker processes); only the sizes are tiny. The runs start
together (they mostly wait on each other's processes starting) and each test checks its
own. The figures are not judged here, only that the run completes and reports them.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The module each scenario needs (other helpers' work lands over time).
NEEDS = {
    "full_sync": "sandbox.graph_accounts",
    "incremental": "sandbox.graph_accounts",
    "replace_feed": "sandbox.graph_accounts",
    "import": "catalog.shopify.importer",
    "webhooks": "catalog.shopify.webhooks",
    "health": "diagnostics.health",
}
TIMEOUT = 240


def available(scenario: str) -> bool:
    module = NEEDS[scenario]
    return importlib.util.find_spec(module.rsplit(".", 1)[0]) is not None and (
        importlib.util.find_spec(module) is not None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def runs():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["BENCH_SERVER_WORKERS"] = "1"
    started = {
        scenario: subprocess.Popen(
            [sys.executable, "-m", "bench", scenario, "--variants", "200", "--db", "sqlite",
             "--port", str(free_port()), "--baseline-items", "10", "--samples", "3"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for scenario in NEEDS
        if available(scenario)
    }
    yield started
    for process in started.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.parametrize("scenario", sorted(NEEDS))
def test_scenario_runs_and_reports_its_figures(runs, scenario):
    if scenario not in runs:
        pytest.fail(f"{NEEDS[scenario]} is missing: the {scenario} scenario cannot run")
    stdout, stderr = runs[scenario].communicate(timeout=TIMEOUT)
    assert runs[scenario].returncode == 0, stderr[-3000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["scenario"] == scenario
    assert report["variants"] == 200
    assert report["wall_seconds"] > 0
    assert report["peak_rss_mb"] > 0
    assert report["baseline"]["items"] > 0
    assert report["speedup"] is not None
    assert "speedup" in report["targets"]
