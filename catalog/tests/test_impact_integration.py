"""Impact against PostgreSQL, Redis and real Celery workers; the graph's locks raced from two connections."""

import itertools
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from automation.models import ChangeEvent, Run, RunStatus
from automation.tests.engine_support import make_automation
from catalog.dependencies import dependency_create
from catalog.models import Dependency, SystemImpact
from catalog.services import health_report, system_create
from testing.lock_waits import backend_pid, wait_until_waiting_on_lock
from testing.process_fixtures import start_worker, wait_for

pytestmark = pytest.mark.integration

LEVELS = ("web", "api", "cache", "db")  # each depends on the next


def make_chain() -> dict:
    systems = {name: system_create(name=name, actor="system") for name in LEVELS}
    for name in LEVELS:
        health_report(system=systems[name], status="healthy", actor="system")
    for upper, lower in itertools.pairwise(LEVELS):
        dependency_create(system_id=systems[upper].pk, depends_on_id=systems[lower].pk, actor="system")
    return systems


def runs_by_system(**filters) -> dict[str, list[tuple]]:
    """(new impact status, run status) of every run, per system (the event's context key), oldest first."""
    out: dict[str, list[tuple]] = {}
    for run in Run.objects.filter(event="catalog.impact_changed", **filters).order_by("created_at"):
        assert run.context_key == run.payload["system_id"]
        out.setdefault(run.context_key, []).append((run.payload["new_status"], run.status))
    return out


def all_succeeded(count: int, **filters) -> bool:
    runs = runs_by_system(**filters)
    return sum(len(r) for r in runs.values()) >= count and all(
        status == RunStatus.SUCCEEDED for r in runs.values() for _new, status in r)


def impacts() -> dict[str, tuple]:
    return {str(pk): (status, tuple(by)) for pk, status, by in
            SystemImpact.objects.values_list("system_id", "status", "impacted_by")}


def test_a_failure_three_levels_down_reaches_every_dependent_and_its_automation_once(integration, tmp_path):
    workers = [start_worker(tmp_path, name=f"w{i}") for i in range(2)]
    systems = make_chain()
    ids = {name: str(system.pk) for name, system in systems.items()}
    # The set-up's changes (first impacts included) route before the automation exists: they start nothing.
    wait_for(lambda: not ChangeEvent.objects.filter(routed_at=None).exists(), timeout=60, what="set-up routed")
    make_automation({"name": "impacted", "mode": "parallel", "triggers": [{"event": "catalog.impact_changed"}],
                     "actions": [{"action": "automation.log", "config": {
                         "message": "{{ trigger.payload.system_id }} {{ health.system.impact_status }} "
                                    "{{ health.system.impacted_by }}"}}]})
    try:
        health_report(system=systems["db"], status="unhealthy", actor="user:mon")
        # The dependents' impact is committed with the health change, before any worker runs.
        assert impacts() == {**{ids[n]: ("unhealthy", (ids["db"],)) for n in LEVELS[:3]},
                             ids["db"]: ("unhealthy", ())}
        wait_for(lambda: all_succeeded(4), timeout=60, what="one run per impacted system")
        time.sleep(2)  # a duplicate would have started by now
        assert runs_by_system() == {ids[n]: [("unhealthy", RunStatus.SUCCEEDED)] for n in LEVELS}

        marker = Run.objects.order_by("-created_at").values_list("created_at", flat=True).first()
        health_report(system=systems["db"], status="healthy", actor="user:mon")
        assert impacts() == {ids[n]: ("healthy", ()) for n in LEVELS}
        wait_for(lambda: all_succeeded(4, created_at__gt=marker), timeout=60, what="the recovery runs")
        time.sleep(2)
        assert runs_by_system(created_at__gt=marker) == {ids[n]: [("healthy", RunStatus.SUCCEEDED)] for n in LEVELS}
    finally:
        [worker.stop() for worker in workers]


def in_thread(target):
    """Run `target` in a thread with its own connection; (thread, outcome: pid, result or error)."""
    outcome = {}

    def body():
        try:
            outcome["pid"] = backend_pid()
            outcome["result"] = target()
        except BaseException as exc:  # noqa: BLE001 - asserted by the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread, outcome


def wait_for_pid(outcome) -> int:
    wait_for(lambda: "pid" in outcome or "error" in outcome, timeout=10, what="the thread's connection")
    return outcome["pid"]


def held_open(work, written: threading.Event, release: threading.Event):
    """`work()` in a transaction kept open until `release` (after signalling `written`)."""
    def target():
        with transaction.atomic():
            result = work()
            written.set()
            assert release.wait(30)
        return result
    return target


def test_a_concurrent_edge_that_would_close_a_cycle_is_refused(integration):
    a, b, c = (system_create(name=name, actor="system") for name in "abc")
    dependency_create(system_id=a.pk, depends_on_id=b.pk, actor="system")
    written, release = threading.Event(), threading.Event()
    # One transaction adds b → c and stays open; another then tries c → a (a → b → c → a).
    first, first_outcome = in_thread(held_open(
        lambda: dependency_create(system_id=b.pk, depends_on_id=c.pk, actor="system"), written, release))
    try:
        assert written.wait(10)
        second, second_outcome = in_thread(
            lambda: dependency_create(system_id=c.pk, depends_on_id=a.pk, actor="system"))
        # It waits on the graph lock rather than checking a graph without b → c.
        wait_until_waiting_on_lock(wait_for_pid(second_outcome))
    finally:
        release.set()
    first.join(30)
    second.join(30)

    assert "error" not in first_outcome
    error = second_outcome.get("error")
    assert isinstance(error, ValidationError) and "would close a cycle" in error.message_dict["depends_on_id"][0]
    assert sorted(Dependency.objects.values_list("system__name", "depends_on__name")) == [("a", "b"), ("b", "c")]


def test_two_dependencies_failing_at_once_both_reach_the_dependent(integration):
    top, left, right = (system_create(name=name, actor="system") for name in ("top", "left", "right"))
    for system in (top, left, right):
        health_report(system=system, status="healthy", actor="system")
    dependency_create(system_id=top.pk, depends_on_id=left.pk, actor="system")
    dependency_create(system_id=top.pk, depends_on_id=right.pk, actor="system")
    written, release = threading.Event(), threading.Event()
    first, first_outcome = in_thread(held_open(
        lambda: health_report(system=left, status="unhealthy", actor="system"), written, release))
    try:
        assert written.wait(10)
        # The second report must wait for the first's commit before computing top, or it would compute it
        # from left's old health and overwrite the first's result.
        second, second_outcome = in_thread(lambda: health_report(system=right, status="degraded", actor="system"))
        wait_until_waiting_on_lock(wait_for_pid(second_outcome))
    finally:
        release.set()
    first.join(30)
    second.join(30)

    assert "error" not in first_outcome and "error" not in second_outcome
    assert impacts()[str(top.pk)] == ("unhealthy", tuple(sorted([str(left.pk), str(right.pk)])))
