"""Every scenario runs end to end at N=200 on SQLite, so the benchmarks don't rot.

Each run is a real ``python -m bench`` process (its own temporary database, gunicorn on a
free loopback port, measured worker processes); only the sizes are tiny. Each test starts
its own run, so under pytest-xdist a scenario runs on exactly one worker (a shared
module fixture would start every scenario once per worker). The run gets its own process
group: on a timeout the whole group (bench, gunicorn, measured workers) is stopped, since
children that outlive the bench process would hold its output pipes open for ever.
The figures are not judged here, only that the run completes and reports them.
"""

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The module each scenario needs (other helpers' work lands over time).
NEEDS = {
    "freshness": "catalog.sync.push_requests",
    "full_sync": "sandbox.graph_accounts",
    "incremental": "sandbox.graph_accounts",
    "replace_feed": "sandbox.graph_accounts",
    "import": "catalog.shopify.importer",
    "webhooks": "catalog.shopify.webhooks",
    "health": "diagnostics.health",
    "verdicts": "diagnostics.verdicts",
    "drift": "catalog.sync.drift",
    "product_sets": "catalog.sync.product_sets",
    "conversions": "conversions.send",
}
# A run takes 6-12 s alone on these machines; CI shares the two cores with the other
# xdist worker. Below pytest-timeout's 300 s, so our own clean-up runs, not its.
TIMEOUT = 200


def available(scenario: str) -> bool:
    module = NEEDS[scenario]
    return importlib.util.find_spec(module.rsplit(".", 1)[0]) is not None and (
        importlib.util.find_spec(module) is not None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_group(process: subprocess.Popen) -> str:
    """SIGTERM to the run's process group (the bench cleans up on it), then SIGKILL.

    Returns what the run printed to stdout until then ("" when it could not be read), so a
    timeout's message shows how far the run got.
    """
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return ""
        try:
            stdout, _ = process.communicate(timeout=grace)
            return stdout or ""
        except subprocess.TimeoutExpired:
            continue
    return ""


def run_bench(scenario: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["BENCH_SERVER_WORKERS"] = "1"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench",
            scenario,
            "--variants",
            "200",
            "--db",
            "sqlite",
            "--port",
            str(free_port()),
            "--baseline-items",
            "10",
            "--samples",
            "3",
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
        stop_group(process)
        pytest.fail(f"python -m bench {scenario} did not finish within {TIMEOUT} s")
    except BaseException:
        stop_group(process)
        raise
    # Whatever the run left behind in its group (it should leave nothing) goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.returncode, stdout, stderr


@pytest.mark.parametrize("scenario", sorted(NEEDS))
def test_scenario_runs_and_reports_its_figures(scenario):
    if not available(scenario):
        pytest.fail(f"{NEEDS[scenario]} is missing: the {scenario} scenario cannot run")
    returncode, stdout, stderr = run_bench(scenario)
    assert returncode == 0, stderr[-3000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["scenario"] == scenario
    assert report["variants"] == 200
    assert report["wall_seconds"] > 0
    assert report["peak_rss_mb"] > 0
    assert report["baseline"]["items"] > 0
    assert report["speedup"] is not None
    assert "speedup" in report["targets"]
    # Every target names a figure the run reports (a renamed figure would read as "not measured").
    unmeasured = {
        name
        for name, target in report["targets"].items()
        if target["value"] is None and name != "sql_constant_per_batch"  # needs 3 batches: not at N=200
    }
    assert not unmeasured
    # Meta's API has a server of its own where our requests would queue in front of it.
    assert report["meta_server"] == ("separate" if scenario == "freshness" else "shared")
