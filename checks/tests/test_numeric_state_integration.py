"""check.numeric_state end to end: PostgreSQL, Redis, a real worker and beat, a real local JSON endpoint.

The check runs every 10 s; its JSON assertion yields the queue length as the result's value. The automation
watching `value above 5` starts one run when the value crosses into the range, none while it stays there,
and one more when it leaves and comes back.
"""

import json
import time

import pytest
from django.utils import timezone

from automation.models import Run
from automation.tests.engine_support import make_automation
from checks.models import Check, CheckResult
from testing.process_fixtures import start_beat, start_worker, wait_for

from .run_support import make_check, make_checked_system
from .servers import HttpTarget

pytestmark = pytest.mark.integration


@pytest.fixture
def processes(integration, tmp_path):
    procs = [start_worker(tmp_path, name="numeric-w", concurrency=2), start_beat(tmp_path, name="numeric-beat")]
    yield procs
    for proc in procs:
        proc.stop()


def test_fires_once_on_crossing_and_not_while_inside(processes):
    system = make_checked_system("queue")
    with HttpTarget(body=b'{"queue": 1}') as server:
        check = make_check(system, name="queue", url=f"{server.url}/q", interval_seconds=10, timeout_seconds=2,
                           json_assertion="response.json.queue")
        automation = make_automation({
            "name": "queue long", "mode": "parallel",
            "triggers": [{"event": "check.numeric_state",
                          "config": {"check_id": str(check.pk), "field": "value", "above": 5}}],
            "actions": [{"action": "automation.log", "config": {"message": "queue {{ trigger.payload.value }}"}}]})
        Check.objects.filter(pk=check.pk).update(next_run_at=timezone.now())

        def runs():
            return Run.objects.filter(automation=automation).count()

        def results_with(value):
            return CheckResult.objects.filter(check_ref=check, value=value).count()

        for queue, expected_runs in [(1, 0), (10, 1), (12, 1), (3, 1), (20, 2)]:
            server.body = json.dumps({"queue": queue}).encode()
            wait_for(lambda queue=queue: results_with(queue) >= 1, timeout=25, what=f"a result with {queue}")
            wait_for(lambda expected=expected_runs: runs() >= expected, timeout=10, what=f"{expected_runs} runs")
            time.sleep(1)  # routing is done well within a second: a run too many would show now
            assert runs() == expected_runs, queue
