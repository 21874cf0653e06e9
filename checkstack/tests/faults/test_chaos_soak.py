"""The chaos soak at CI size (guarantee 10): bench/chaos.py for 60 s, its one-line report asserted.

The soak brings its own PostgreSQL cluster (a temporary folder, a free port) and Redis (a free port), so it
never restarts the services the rest of the suite runs on. Missing PostgreSQL binaries or redis-server make
the soak exit without a report: the test fails, it does not skip. `--full` runs it for 10 minutes.
"""

import json
import subprocess
import sys

import pytest

from testing.embedded_stack import free_port
from testing.process_fixtures import BASE_DIR

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def test_chaos_soak_loses_and_duplicates_nothing(request, capsys):
    # Given the Procfile's processes under the supervisor, clients writing through the API, and a controller
    # killing a web, worker or beat process every ~3 s and restarting Redis and PostgreSQL once
    full = request.config.getoption("--full")
    soak = subprocess.Popen(
        [sys.executable, "bench/chaos.py", *(["--full"] if full else ["--seconds", "60", "--kill-every", "3"]),
         "--redis-port", str(free_port())],
        cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        stdout, stderr = soak.communicate(timeout=(600 + 300 if full else 60 + 90) + 300)
    except subprocess.TimeoutExpired:
        soak.terminate()  # the soak stops what it started (its cluster, Redis, the supervisor) on SIGTERM
        stdout, stderr = soak.communicate(timeout=120)
    lines = stdout.strip().splitlines()
    assert lines and lines[-1].startswith("{"), f"no report (exit {soak.returncode}):\n{stdout[-3000:]}\n" \
                                                f"{stderr[-5000:]}"
    report = json.loads(lines[-1])
    with capsys.disabled():  # the figures show in CI's output, not only with -s
        print(f"\nchaos soak: {lines[-1]}", flush=True)

    # Then the faults happened: each process type killed, Redis and PostgreSQL restarted once each
    assert all(n > 0 for n in report["kills"].values()), report["kills"]
    assert (report["redis_restarts"], report["pg_restarts"]) == (1, 1)
    assert report["supervisor_restarts"] >= sum(report["kills"].values())  # each kill was restarted
    # And every acknowledged write is stored once, every change routed once, every firing gave one run that
    # succeeded, and each side effect, channel message and subscriber email arrived under its key
    assert report["writes"]["acknowledged"] > 0 and report["writes"]["present"] == report["writes"]["acknowledged"]
    assert report["runs"]["firings"] > 0 and report["runs"]["runs_per_firing"] == 1.0
    assert all(figures["expected"] > 0 for figures in report["side_effects"].values()), report["side_effects"]
    assert report["channel"]["expected"] > 0 and report["subscriber_emails"]["expected"] > 0
    assert not any(report["still_owed"].values()), report["still_owed"]
    assert (report["lost"], report["duplicated"]) == (0, 0), report
    assert report["pass"] is True and soak.returncode == 0
