"""Fault injection against PostgreSQL, Redis and real Celery workers and beat; invariants checked afterwards.

Covered elsewhere, and referenced rather than repeated: worker `kill -9` mid-step with the external step
retried under one idempotency key (automation/tests/test_engine_integration.py), a routing message delivered
three times, two beat processes firing each of 500 timers once (automation/tests/test_time_integration.py),
a notification worker killed between send and record (notifications/tests/test_notifications_integration.py).
"""

import os
import signal
import subprocess
import threading
import time

import pytest
from django.db import connection

from automation.models import ChangeEvent, Run, RunStatus, RunStep
from automation.tests.engine_support import actions_registered, make_automation, touch_concurrently
from automation.tests.support import register_fault_actions
from catalog.models import System
from catalog.services import system_create
from testing.http_receiver import Receiver
from testing.process_fixtures import start_beat, start_worker, wait_for

from .invariants import check_invariants

pytestmark = [pytest.mark.integration, pytest.mark.faults]
FAST_SWEEPS = {"CHECKSTACK_RUN_LEASE_SECONDS": "3", "CHECKSTACK_SWEEP_INTERVAL_SECONDS": "1",
               "CHECKSTACK_OUTBOX_GRACE_SECONDS": "1"}


@pytest.fixture
def fault_actions():
    with actions_registered(register_fault_actions):
        yield


@pytest.fixture
def processes(integration, tmp_path):
    """Start workers and beat on demand; all stopped at the end of the test."""
    started = []

    def start(*, workers=1, beat=True, **env):
        env = {**FAST_SWEEPS, **env}
        new = [start_worker(tmp_path, name=f"w{len(started)}-{i}", **env) for i in range(workers)]
        if beat:
            new.append(start_beat(tmp_path, name=f"beat{len(started)}", **env))
        started.extend(new)
        return new

    yield start
    for process in started:
        process.stop()


def quiet(timeout=120):
    """Every change routed and every run ended."""
    wait_for(lambda: not ChangeEvent.objects.filter(routed_at=None).exists()
             and not Run.objects.filter(status__in=["pending", "running", "waiting"]).exists(),
             timeout=timeout, what="the system to settle")


def test_a_worker_stopped_past_its_lease_cannot_write_when_it_wakes(processes, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    with Receiver(delay_first=8) as receiver:
        make_automation({"name": "hooked", "triggers": [{"event": "catalog.system_created"}], "actions": [
            {"action": "automation.webhook", "config": {"url": receiver.url, "body": {"n": 1}}},
            {"action": "automation.log", "config": {"message": "after"}}]})
        [stalled] = processes(beat=False, CHECKSTACK_WEBHOOK_ALLOWLIST="127.0.0.1")
        system_create(name="api", actor="system")
        wait_for(lambda: len(receiver.requests) == 1, timeout=30, what="the first worker to call the receiver")
        stalled.kill(signal.SIGSTOP)  # frozen mid-step, holding the lease
        try:
            processes(CHECKSTACK_WEBHOOK_ALLOWLIST="127.0.0.1")  # another worker and beat take over after 3 s
            wait_for(lambda: Run.objects.filter(status=RunStatus.SUCCEEDED).exists(), timeout=60,
                     what="the run to finish on the other worker")
            [run] = Run.objects.all()
            before = (run.status, run.finished_at, run.fencing_token,
                      list(RunStep.objects.filter(run=run).order_by("path").values_list("path", "status", "result")))
        finally:
            stalled.kill(signal.SIGCONT)  # it wakes, its webhook call returns, it tries to finish the step
        time.sleep(10)
        run.refresh_from_db()
        after = (run.status, run.finished_at, run.fencing_token,
                 list(RunStep.objects.filter(run=run).order_by("path").values_list("path", "status", "result")))
        assert after == before  # the late writer changed nothing: every write checks the fencing token
        assert RunStep.objects.filter(run=run).count() == 2
        check_invariants(receiver=receiver)
        assert len(receiver.requests) == 2  # the step was retried once, under the same key


def test_redis_stopped_during_mutations_loses_nothing(processes, integration, admin_api, size, settings):
    writes, outage = size(200, 1000), size(8, 30)
    make_automation({"name": "counted", "mode": "parallel", "max_runs": 1000,
                     "triggers": [{"event": "catalog.system_updated"}],
                     "actions": [{"action": "automation.log", "config": {"message": "{{ trigger.payload.name }}"}}]})
    systems = [system_create(name=f"s{i}", actor="system") for i in range(20)]
    processes()
    integration.stop()
    stopped_at = time.monotonic()
    codes = []
    for n in range(writes):
        system = systems[n % len(systems)]
        response = admin_api.patch(f"/api/v1/systems/{system.pk}/", {"name": f"s{n % 20}-v{n}"}, format="json")
        codes.append(response.status_code)
    time.sleep(max(0.0, outage - (time.monotonic() - stopped_at)))
    integration.start()
    assert set(codes) == {200}  # every write succeeded with the broker down
    quiet(timeout=180)
    runs = Run.objects.filter(automation__name="counted")
    assert runs.count() == writes and not runs.exclude(status=RunStatus.SUCCEEDED).exists()
    check_invariants()


def test_redis_flushed_with_work_pending_still_finishes_everything(processes, integration, settings):
    make_automation({"name": "flushed", "mode": "parallel", "max_runs": 1000,
                     "triggers": [{"event": "catalog.system_created"}],
                     "actions": [{"action": "automation.log", "config": {"message": "created"}}]})
    for i in range(30):
        system_create(name=f"f{i}", actor="system")  # wake-ups queued in Redis; no worker yet
    integration.flush()  # every queued message is gone
    processes()
    quiet(timeout=120)
    assert Run.objects.filter(status=RunStatus.SUCCEEDED).count() == 30
    check_invariants()


def test_a_crash_between_commit_and_the_wake_up_is_recovered_by_the_sweeper(processes, settings):
    settings.CHECKSTACK_FAST_PATH = False  # this process commits and "dies" before publishing anything
    make_automation({"name": "swept", "mode": "parallel", "max_runs": 1000,
                     "triggers": [{"event": "catalog.system_created"}],
                     "actions": [{"action": "automation.log", "config": {"message": "created"}}]})
    processes()
    for i in range(30):
        system_create(name=f"c{i}", actor="system")
    quiet(timeout=90)
    assert Run.objects.filter(status=RunStatus.SUCCEEDED).count() == 30
    check_invariants()


def test_poison_steps_fail_their_run_after_bounded_attempts_and_others_are_unaffected(processes, fault_actions):
    make_automation({"name": "raises", "triggers": [{"event": "catalog.system_created"}],
                     "actions": [{"action": "test.explode", "config": {"text": "boom"}}]})
    make_automation({"name": "kills", "triggers": [{"event": "catalog.system_created"}],
                     "actions": [{"action": "test.kill_worker", "config": {"text": "bye"}}]})
    make_automation({"name": "healthy", "mode": "parallel", "max_runs": 100,
                     "triggers": [{"event": "catalog.system_created"}],
                     "actions": [{"action": "automation.log", "config": {"message": "fine"}}]})
    processes(workers=2)
    for i in range(5):
        system_create(name=f"p{i}", actor="system")
    quiet(timeout=240)
    started = Run.objects.exclude(status=RunStatus.SKIPPED)  # mode single: the others were skipped
    raised = started.filter(automation__name="raises").order_by("created_at").first()
    assert raised.status == RunStatus.FAILED and "poison: boom" in raised.error
    killed = started.filter(automation__name="kills").order_by("created_at").first()
    assert killed.status == RunStatus.FAILED and killed.error  # a clear reason, not a hang
    assert RunStep.objects.get(run=killed).attempts <= 4
    assert Run.objects.filter(automation__name="healthy", status=RunStatus.SUCCEEDED).count() == 5
    check_invariants()


def test_fifty_concurrent_triggers_per_concurrency_mode(processes, size):
    triggers = size(50, 200)
    delay = [{"delay": {"seconds": 3}}, {"action": "automation.log", "config": {"message": "done"}}]
    for mode, extra in [("single", {}), ("queued", {"max_runs": 5}), ("restart", {}), ("parallel", {"max_runs": 4})]:
        make_automation({"name": mode, "mode": mode, **extra, "triggers": [{"event": "catalog.system_updated"}],
                         "actions": delay})
    system = system_create(name="api", actor="system")
    processes(workers=2)
    assert touch_concurrently(system, triggers) == []
    quiet(timeout=240)

    def runs(mode, **filters):
        return list(Run.objects.filter(automation__name=mode, **filters).order_by("created_at"))

    assert all(len(runs(mode)) == triggers for mode in ("single", "queued", "restart", "parallel"))
    # single: never two at once; every other firing is a skipped record saying why
    assert all(r.reason == "a run is already active (mode single)" for r in runs("single", status="skipped"))
    assert_never_overlapping(runs("single", status=RunStatus.SUCCEEDED), limit=1)
    # queued: FIFO, one at a time, at most 5 waiting; the rest skipped as queue full
    queued = runs("queued", status=RunStatus.SUCCEEDED)
    assert [r.pk for r in queued] == [r.pk for r in sorted(queued, key=lambda r: r.started_at)]
    assert_never_overlapping(queued, limit=1)
    assert all(r.reason == "queue is full (mode queued)" for r in runs("queued", status="skipped"))
    # restart: exactly one survives; no step of a cancelled run starts after its cancel
    assert len(runs("restart", status=RunStatus.SUCCEEDED)) == 1
    for run in runs("restart", status=RunStatus.CANCELLED):
        assert not RunStep.objects.filter(run=run, started_at__gt=run.finished_at).exists()
    # parallel: never more than max_runs at once
    assert_never_overlapping(runs("parallel", status=RunStatus.SUCCEEDED), limit=4)
    check_invariants()


def assert_never_overlapping(runs, *, limit):
    """At no moment were more than `limit` of these runs between their start and their end."""
    edges = sorted([(r.started_at, 1, r.pk) for r in runs] + [(r.finished_at, -1, r.pk) for r in runs])
    active, peak, at_peak = set(), 0, None
    for moment, step, pk in edges:
        active = active | {pk} if step == 1 else active - {pk}
        if len(active) > peak:
            peak, at_peak = len(active), (moment, sorted(map(str, active)))
    assert peak <= limit, f"{peak} runs active at once (limit {limit}) at {at_peak[0]}: {at_peak[1]}"


def test_postgresql_restarted_under_load_loses_no_acknowledged_write(processes, size):
    """`pg_ctlcluster … restart -m immediate` while writers commit: every acknowledged write is still there."""
    duration = size(6, 30)
    version = sorted(os.listdir("/etc/postgresql"))[0]
    processes()
    acknowledged, stop = [], threading.Event()

    def writer(n):
        while not stop.is_set():
            try:
                system = system_create(name=f"pg-{n}-{len(acknowledged)}-{time.monotonic_ns()}", actor="system")
                acknowledged.append(str(system.pk))  # create returned: the commit was acknowledged
            except Exception:  # noqa: BLE001 - the server is restarting: not acknowledged, try again
                connection.close()
                time.sleep(0.2)
        connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    [t.start() for t in threads]
    time.sleep(duration / 2)
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "immediate"],
                   check=True, capture_output=True)
    time.sleep(duration / 2)
    stop.set()
    [t.join() for t in threads]
    connection.close()
    assert acknowledged
    stored = {str(pk) for pk in System.objects.filter(pk__in=acknowledged).values_list("pk", flat=True)}
    assert stored == set(acknowledged)
    assert ChangeEvent.objects.filter(kind="system", entity_id__in=acknowledged).count() == len(acknowledged)
    quiet(timeout=120)  # workers reconnect and route everything committed
    check_invariants()
