"""The bench scripts must not rot: the quick engine, routing, fleet throughput and SLO benches run end to end and end
with their JSON figures.

No timing is asserted here (speed is measured by `python bench/run.py`, not by tests).
"""

import json
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.integration

EXPECTED = {"postgres_insert_commit_per_s", "noop_round_trip", "noop_tasks_per_s", "commit_to_routed_fast_path",
            "commit_to_routed_sweeper_only", "runs_per_s_saturation", "wake_latency_10_waiting",
            "validate_200_steps_ms", "ratio_runs_vs_noop_throughput"}


def test_the_quick_engine_bench_prints_its_figures():
    result = subprocess.run([sys.executable, "bench/run.py", "--quick", "--only", "engine"], cwd=settings.BASE_DIR,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])["engine"]
    assert EXPECTED <= set(figures)
    assert figures["noop_tasks_per_s"] > 0 and figures["runs_per_s_saturation"] > 0


def test_the_quick_fleet_benches_print_their_figures():
    result = subprocess.run([sys.executable, "bench/run.py", "--quick", "--only", "routing,fleet_throughput"],
                            cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    fleet = figures["routing"]["fleet"]
    assert set(fleet) == {"1", "5", "20", "ratio_p50_largest_vs_1", "saves"}  # saves: automation save times
    # Each change of the one matching system starts exactly its one run, at every level.
    assert all(fleet[level]["runs_started_per_change"] == 1 and fleet[level]["changes"] == 10
               for level in ("1", "5", "20"))
    throughput = figures["fleet_throughput"]
    assert {"ratio_with_crowd_vs_without_1w", "ratio_with_crowd_vs_without_2w"} <= set(throughput)
    assert all(throughput[key]["changes"] == 16 for key in ("without_1w", "without_2w", "with_1w", "with_2w"))


def test_the_quick_slo_bench_prints_its_figures():
    result = subprocess.run([sys.executable, "bench/run.py", "--quick", "--only", "slo"], cwd=settings.BASE_DIR,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])["slo"]
    assert (figures["objectives"], figures["days"]) == (100, 7)
    assert figures["pass_s"] > 0 and figures["statements_per_pass"] > 0
