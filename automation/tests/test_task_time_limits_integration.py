"""The tasks' time limits as a backstop (docs/operations.md, Task time limits): an evaluation that outlasts its
routing task ends as that firing's recorded error, the pool process that ran it is replaced, and the next
change of the same entity routes.

With the default settings no single evaluation can outlast its task: each call is capped (costs.py) and the
0.5 s deadline is checked between calls. To have one, the worker here runs with the expression deadline raised
to 600 s (CHECKSTACK_EXPRESSION_SECONDS) and a 2 s soft limit, and the condition chains 200 sorts of 50,000
items (each allowed, about 0.3 s): what this proves is the backstop, not that such an evaluation exists.
"""

import pytest

from automation.engine.firing.gates import TIME_LIMIT_TEXT
from automation.models import ChangeEvent, Run, RunStatus
from automation.tests.engine_support import make_automation
from catalog.services import system_create, system_update
from testing.process_fixtures import start_worker, wait_for

pytestmark = pytest.mark.integration

SOFT, HARD = 2, 8  # seconds
SLOW = "[" + ", ".join(["((range(10000)|list) * 5)|sort|length"] * 200) + "]|sum"  # about 60 s unbounded


def test_a_runaway_condition_ends_as_its_firings_error_within_the_time_limit_and_the_next_change_routes(
        integration, tmp_path):
    env = {"CHECKSTACK_EXPRESSION_SECONDS": "600", "CHECKSTACK_TASK_SOFT_TIME_LIMIT_SECONDS": str(SOFT),
           "CHECKSTACK_TASK_TIME_LIMIT_SECONDS": str(HARD)}
    automation = make_automation({
        "name": "runaway", "triggers": [{"event": "catalog.system_updated"}],
        "conditions": [f"trigger.payload.name != 'slow' or ({SLOW}) > 0"],
        "actions": [{"action": "automation.log", "config": {"message": "{{ trigger.payload.name }}"}}]})
    system = system_create(name="api", actor="user:ann")
    worker = start_worker(tmp_path, concurrency=1, **env)
    try:
        system_update(system=system, name="slow", actor="user:ann")
        wait_for(lambda: Run.objects.filter(status=RunStatus.SKIPPED).exists(), timeout=HARD + 20,
                 what="the runaway firing to be recorded")
        wait_for(lambda: "its worker process is recycled" in worker.log(), timeout=10,
                 what="the pool process to be recycled")
        system_update(system=system, name="fast", actor="user:ann")
        wait_for(lambda: Run.objects.filter(status=RunStatus.SUCCEEDED).exists(), timeout=30,
                 what="the next change to route and run")
    finally:
        worker.stop()

    created, slow_change, fast_change = ChangeEvent.objects.filter(entity_id=str(system.pk)).order_by("id")
    [skipped] = Run.objects.filter(status=RunStatus.SKIPPED)
    assert skipped.automation_id == automation.pk and skipped.firing_key == str(slow_change.change_id)
    assert skipped.reason == f"conditions not met: conditions.0: {TIME_LIMIT_TEXT}"
    assert (skipped.created_at - slow_change.occurred_at).total_seconds() < HARD
    [succeeded] = Run.objects.filter(status=RunStatus.SUCCEEDED)
    assert succeeded.firing_key == str(fast_change.change_id)
    assert created.routed_at and slow_change.routed_at and fast_change.routed_at
    assert "SoftTimeLimitExceeded" not in worker.log()  # caught where the firing's error is recorded

