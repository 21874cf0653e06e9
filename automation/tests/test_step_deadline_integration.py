"""A step's outside call ends inside the run's lease, so no other worker ever makes it at the same time."""

import time

import pytest

from automation.models import Run, RunStatus, RunStep
from automation.tests.engine_support import make_automation
from catalog.services import system_create
from testing.http_receiver import Receiver
from testing.process_fixtures import start_beat, start_worker, wait_for

pytestmark = pytest.mark.integration

LEASE = 4  # seconds: the step's budget is 3


def test_a_webhook_receiver_trickling_past_the_lease_is_cut_off_and_never_served_twice_at_once(
        integration, tmp_path, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    env = {"CHECKSTACK_WEBHOOK_ALLOWLIST": "127.0.0.1", "CHECKSTACK_RUN_LEASE_SECONDS": str(LEASE)}
    # One byte a second for three leases: each read returns well within the webhook's 30 s timeout.
    with Receiver(trickle_seconds=3 * LEASE) as receiver:
        make_automation({"name": "slow hook", "triggers": [{"event": "catalog.system_created"}], "actions": [
            {"action": "automation.webhook", "config": {"url": receiver.url, "timeout_seconds": 30}},
        ]})
        # Two worker processes and the sweeper that re-sends a run whose lease lapsed: everything a
        # second, concurrent attempt of the step would need.
        worker = start_worker(tmp_path, concurrency=2, **env)
        beat = start_beat(tmp_path, **env)
        try:
            system_create(name="api", actor="user:ann")
            wait_for(lambda: Run.objects.filter(status=RunStatus.FAILED).exists(), timeout=20,
                     what="the run to fail at the step's deadline")
            time.sleep(LEASE + 2)  # a lapsed lease would have been recovered by now
        finally:
            beat.stop()
            worker.stop()

        [run] = Run.objects.all()
        assert receiver.overlapping() == []
        assert receiver.idempotency_keys() == [f"{run.pk}:actions.0:0"]
        [step] = RunStep.objects.filter(run=run)
        assert (step.status, step.attempts) == ("failed", 1)
        assert step.error.startswith("deadline exceeded: no complete response within ")
        assert run.error == step.error
        assert (step.finished_at - step.started_at).total_seconds() < LEASE
