"""A worker process stopping mid-batch, on PostgreSQL and Redis with real workers: no due run is lost, none is
recorded twice.

Worker A takes a batch of 8 checks against a server that holds every request; with 4 probe threads it is
mid-batch (4 probes waiting, 4 queued in its pool) when it is killed, or frozen. The time that would pass
before its leases lapse and the checks fall due again is skipped by moving both into the past; beat's tick
(called here) claims them again for worker B.
"""

import os
import signal
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from checks.models import Check, CheckResult
from checks.tasks import schedule_checks
from testing.process_fixtures import start_worker, wait_for

from .run_support import make_check, make_checked_system
from .servers import HttpTarget

pytestmark = pytest.mark.integration

BATCH = {"CHECKSTACK_CHECKS_BATCH": 8, "CHECKSTACK_CHECKS_PROBE_THREADS": 4}


class GatedTarget(HttpTarget):
    """Holds every request until `gate` is set (at most 30 s); `arrived` counts them as they come."""

    def __init__(self):
        super().__init__()
        self.gate, self.arrived, self._arrivals = threading.Event(), 0, threading.Lock()
        handler, target = self.server.RequestHandlerClass, self
        answer = handler._answer

        def gated(self_, with_body):
            with target._arrivals:
                target.arrived += 1
            target.gate.wait(30)
            try:
                answer(self_, with_body)
            except BrokenPipeError:
                pass  # a killed worker's probe: nobody reads the answer

        handler._answer = gated


def _due_now(checks):
    Check.objects.filter(pk__in=[c.pk for c in checks]).update(next_run_at=timezone.now() - timedelta(seconds=1))


def _leases_lapse_and_checks_fall_due(checks):
    past = timezone.now() - timedelta(seconds=1)
    Check.objects.filter(pk__in=[c.pk for c in checks]).update(lease_until=past, next_run_at=past)


def _one_result_each(checks):
    counts = dict.fromkeys((c.pk for c in checks), 0)
    for check_id in CheckResult.objects.values_list("check_ref_id", flat=True):
        counts[check_id] += 1
    return counts


@pytest.fixture
def checks(integration):
    system = make_checked_system()
    with GatedTarget() as server:
        yield server, [make_check(system, name=f"c{n}", url=f"{server.url}/{n}", timeout_seconds=20)
                       for n in range(8)]
        server.gate.set()


@pytest.mark.parametrize("stop", ["killed", "frozen"])
def test_a_worker_stopping_mid_batch_loses_no_due_run_and_none_is_recorded_twice(checks, tmp_path, stop):
    server, fleet = checks
    a = start_worker(tmp_path, name="a", concurrency=1, queues="checkstack.checks", **BATCH)
    try:
        _due_now(fleet)
        assert schedule_checks() == 8
        wait_for(lambda: server.arrived == 4, timeout=30, what="worker A mid-batch: its 4 threads busy")
        a.kill(signal.SIGKILL if stop == "killed" else signal.SIGSTOP)
        assert not CheckResult.objects.exists()

        _leases_lapse_and_checks_fall_due(fleet)
        server.gate.set()
        b = start_worker(tmp_path, name="b", concurrency=1, queues="checkstack.checks", **BATCH)
        try:
            assert schedule_checks() == 8  # claimed again: every due run still runs
            wait_for(lambda: CheckResult.objects.count() >= 8, timeout=30, what="worker B's 8 results")
            if stop == "frozen":
                a.kill(signal.SIGCONT)  # A wakes up, finishes its probes and tries to record them
                os.kill(a.proc.pid, signal.SIGTERM)  # the main process only: a warm shutdown awaits the batch
                a.proc.wait(timeout=60)
                assert "WorkerLostError" not in a.log(), a.log()[-3000:]  # the batch ended, not cut short
        finally:
            b.stop()
    finally:
        a.kill(signal.SIGCONT)
        a.stop()

    assert _one_result_each(fleet) == {c.pk: 1 for c in fleet}
    assert set(Check.objects.values_list("lease_until", "last_ok")) == {(None, True)}
