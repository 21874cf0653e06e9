"""The engine against PostgreSQL, Redis and real Celery worker processes."""

import time

import pytest

from automation import tasks
from automation.models import ChangeEvent, Run, RunStatus, RunStep
from automation.tests.engine_support import make_automation, touch_concurrently
from catalog.services import system_create
from testing.http_receiver import Receiver
from testing.process_fixtures import start_beat, start_worker, wait_for

pytestmark = pytest.mark.integration


def runs(**filters):
    return list(Run.objects.filter(**filters).order_by("created_at"))


def test_kill_9_mid_step_the_run_completes_and_the_external_step_is_retried_with_one_key(
        integration, tmp_path, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    env = {"CHECKSTACK_WEBHOOK_ALLOWLIST": "127.0.0.1", "CHECKSTACK_RUN_LEASE_SECONDS": "3"}
    with Receiver(delay_first=30) as receiver:
        make_automation({"name": "hooked", "triggers": [{"event": "catalog.system_created"}], "actions": [
            {"action": "automation.log", "config": {"message": "before {{ trigger.payload.name }}"}},
            {"action": "automation.webhook", "config": {"url": receiver.url, "body": {"n": 1}}},
            {"action": "automation.log", "config": {"message": "after"}},
        ]})
        worker = start_worker(tmp_path, name="doomed", **env)
        system_create(name="api", actor="user:ann")
        wait_for(lambda: len(receiver.requests) == 1, timeout=30, what="the webhook to reach the receiver")
        worker.kill()  # SIGKILL the whole worker while the step waits on the receiver
        worker.proc.wait(timeout=10)

        survivor = start_worker(tmp_path, name="survivor", **env)
        beat = start_beat(tmp_path, **env)  # the sweeper recovers the run once its lease lapsed
        try:
            wait_for(lambda: runs(status=RunStatus.SUCCEEDED), timeout=60, what="the run to complete")
        finally:
            beat.stop()
            survivor.stop()
        [run] = runs()
        keys = receiver.idempotency_keys()
        assert len(keys) == 2 and len(set(keys)) == 1
        assert keys[0] == f"{run.pk}:actions.1:0"
        assert [(s.path, s.attempts) for s in RunStep.objects.filter(run=run).order_by("path")] == [
            ("actions.0", 1), ("actions.1", 2), ("actions.2", 1)]


def test_a_routing_message_delivered_three_times_creates_one_run(celery_worker, settings):
    settings.CHECKSTACK_FAST_PATH = False
    make_automation({"name": "once", "triggers": [{"event": "catalog.system_created"}],
                     "actions": [{"action": "automation.log", "config": {"message": "hi"}}]})
    system = system_create(name="api", actor="system")
    change_id = str(ChangeEvent.objects.get(entity_id=str(system.pk)).change_id)
    for _ in range(3):
        tasks.route_change_event.delay(change_id)
    wait_for(lambda: runs(status=RunStatus.SUCCEEDED), timeout=30, what="the run")
    time.sleep(1.5)
    assert len(runs()) == 1


def test_restart_mode_under_twenty_concurrent_triggers_leaves_one_completed_run(integration, tmp_path):
    make_automation({"name": "restarter", "mode": "restart",
                     "triggers": [{"event": "catalog.system_updated"}],
                     "actions": [{"action": "automation.log", "config": {"message": "one"}},
                                 {"delay": {"seconds": 2}},
                                 {"action": "automation.log", "config": {"message": "two"}}]})
    workers = [start_worker(tmp_path, name=f"w{i}") for i in range(2)]
    beat = start_beat(tmp_path)
    try:
        system = system_create(name="api", actor="system")
        assert touch_concurrently(system, 20) == []
        wait_for(lambda: len(runs()) == 20 and not runs(status__in=["pending", "running", "waiting"]),
                 timeout=90, what="every run to end")
    finally:
        beat.stop()
        [w.stop() for w in workers]
    statuses = [r.status for r in runs()]
    assert statuses.count(RunStatus.SUCCEEDED) == 1 and statuses.count(RunStatus.CANCELLED) == 19
    for run in runs(status=RunStatus.CANCELLED):
        started_after_cancel = RunStep.objects.filter(run=run, started_at__gt=run.finished_at)
        assert not started_after_cancel.exists()
