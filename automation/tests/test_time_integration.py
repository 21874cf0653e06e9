"""Timers, waits and dwells across full restarts, against PostgreSQL, Redis, real workers and beat.

The durations are the ones the issue names (20 s timeout, 30 s dwells, two beats for 60 s): scaled-down
versions would not catch a sweeper that only works while a deadline is a few seconds away.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.engine.runs.runner import run_advance
from automation.models import ChangeEvent, Run, RunStatus, RunStep, Timer
from automation.services.runs import run_manual
from automation.tests.engine_support import make_automation
from automation.tests.support import FIRED_KEY, seen_client
from catalog.services import health_report, system_create
from testing.process_fixtures import start_beat, start_worker, wait_for

pytestmark = pytest.mark.integration


class Processes:
    """Every Checkstack process of a deployment (worker + beat), stoppable all at once."""

    def __init__(self, tmp_path, tag):
        self.tmp_path, self.tag, self.procs = tmp_path, tag, []

    def start(self, beats=1):
        self.procs = [start_worker(self.tmp_path, name=f"{self.tag}-w")]
        self.procs += [start_beat(self.tmp_path, name=f"{self.tag}-beat{i}") for i in range(beats)]
        return self

    def kill(self):
        for proc in self.procs:
            proc.kill()
            proc.proc.wait(timeout=10)


def test_two_beats_fire_each_of_500_timers_once(integration, tmp_path):
    now = timezone.now()
    # Spread over the 60 s both beats run, so every sweep of both races for a few due rows.
    Timer.objects.bulk_create(
        Timer(kind="test_count", owner=f"t{i}", due_at=now + timedelta(milliseconds=120 * i)) for i in range(500))
    processes = Processes(tmp_path, "two-beats").start(beats=2)
    try:
        wait_for(lambda: not Timer.objects.filter(fired_at=None).exists(), timeout=90, what="all timers fired")
        time.sleep(2)  # let any duplicate firing show up
    finally:
        processes.kill()
    fired = Counter(seen_client().lrange(FIRED_KEY, 0, -1))
    assert len(fired) == 500
    assert set(fired.values()) == {1}


def test_wait_until_timeout_fires_once_after_every_process_was_killed_and_restarted(integration, tmp_path):
    system = system_create(name="api", actor="system")
    automation = make_automation({"name": "patient", "triggers": [{"event": "automation.manual"}], "actions": [
        {"wait_until": {"condition": f"state.system['{system.pk}'].name == 'never'", "timeout": {"seconds": 20}}},
        {"action": "automation.log", "config": {"message": "timed out: {{ wait.timed_out }}"}}]})
    run = run_manual(automation=automation, actor="user:test")
    run_advance(run_id=run.pk)  # parks it: waiting, with its timeout timer due in 20 s
    parked_at = time.monotonic()
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING
    first = Processes(tmp_path, "before").start()
    time.sleep(max(0.0, 5 - (time.monotonic() - parked_at)))  # a loaded machine may take longer to start them
    first.kill()  # everything dies at 5 s, or as soon as it was up
    assert time.monotonic() - parked_at < 20, "they must die before the deadline"
    time.sleep(max(0.0, 30 - (time.monotonic() - parked_at)))  # the deadline (20 s) passes while nothing runs
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING
    second = Processes(tmp_path, "after").start()
    try:
        wait_for(lambda: Run.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED, timeout=30, what="the timeout")
    finally:
        second.kill()
    assert Timer.objects.get(kind=Timer.Kind.WAIT_TIMEOUT).fired_at is not None
    step = RunStep.objects.get(run=run, path="actions.1")
    assert (step.attempts, step.result) == (1, {"message": "timed out: True", "level": "info"})


DWELL_SECONDS = 30


def dwell_automation():
    return make_automation({"name": "sustained", "concurrency_scope": "context_key", "triggers": [
        {"event": "healthcheck.system_degraded", "for": {"seconds": DWELL_SECONDS}}],
        "actions": [{"action": "automation.log", "config": {"message": "sustained"}}]})


def test_a_dwell_armed_before_a_full_restart_fires_at_its_deadline(integration, tmp_path):
    dwell_automation()
    system = system_create(name="api", actor="system")
    first = Processes(tmp_path, "armed").start()
    health_report(system=system, status="degraded", actor="system")
    armed_at = ChangeEvent.objects.get(kind="health").occurred_at
    wait_for(lambda: Timer.objects.filter(kind=Timer.Kind.DWELL).exists(), timeout=20, what="the dwell to arm")
    first.kill()
    time.sleep(3)
    second = Processes(tmp_path, "back").start()
    try:
        wait_for(lambda: Run.objects.filter(status=RunStatus.SUCCEEDED).exists(), timeout=30, what="the dwell run")
    finally:
        second.kill()
    [run] = Run.objects.all()
    lateness = (run.created_at - armed_at).total_seconds() - DWELL_SECONDS
    assert abs(lateness) <= 2.0, lateness


def test_a_dwell_whose_entity_flipped_away_and_back_while_down_fires_after_the_return(integration, tmp_path):
    dwell_automation()
    system = system_create(name="api", actor="system")
    first = Processes(tmp_path, "armed").start()
    health_report(system=system, status="degraded", actor="system")
    wait_for(lambda: Timer.objects.filter(kind=Timer.Kind.DWELL).exists(), timeout=20, what="the dwell to arm")
    first.kill()
    armed = time.monotonic()
    health_report(system=system, status="healthy", actor="system")  # breaks it, while nothing runs
    time.sleep(10)
    health_report(system=system, status="degraded", actor="system")  # and back
    returned_at = ChangeEvent.objects.filter(kind="health").order_by("-id").first().occurred_at
    time.sleep(DWELL_SECONDS + 2 - (time.monotonic() - armed))  # the first deadline passes while all is down
    second = Processes(tmp_path, "back").start()
    try:
        wait_for(lambda: Run.objects.filter(status=RunStatus.SUCCEEDED).exists(), timeout=40, what="the dwell run")
        time.sleep(2)
    finally:
        second.kill()
    [run] = Run.objects.all()  # one run: the broken dwell never fired
    after_return = (run.created_at - returned_at).total_seconds()
    assert DWELL_SECONDS <= after_return <= DWELL_SECONDS + 2.0, after_return
