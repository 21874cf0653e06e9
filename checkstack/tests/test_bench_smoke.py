"""The bench scripts must not rot: the quick engine bench runs end to end and ends with its JSON figures.

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
