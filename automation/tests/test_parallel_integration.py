"""`parallel` branches on real workers: concurrency, timers, a killed worker, cancel (PostgreSQL, Redis)."""

import time

import pytest

from automation.models import BranchStatus, Run, RunBranch, RunStatus, RunStep
from automation.services.runs import run_cancel
from automation.tests.engine_support import make_automation
from catalog.services import system_create
from testing.http_receiver import Receiver
from testing.process_fixtures import start_beat, start_worker, wait_for

pytestmark = pytest.mark.integration

HOOK_ENV = {"CHECKSTACK_WEBHOOK_ALLOWLIST": "127.0.0.1"}


def hook(url, n, **extra):
    return {"action": "automation.webhook", "config": {"url": url, "body": {"n": n}, "timeout_seconds": 20}, **extra}


def log(message):
    return {"action": "automation.log", "config": {"message": message}}


def automation_on_system_created(actions):
    make_automation({"name": "branches", "triggers": [{"event": "catalog.system_created"}], "actions": actions})


def the_run() -> Run:
    return Run.objects.get()


def starts(receiver) -> list[float]:
    return sorted(r["started"] for r in receiver.requests)


def test_two_branches_calling_a_2s_receiver_finish_together_and_the_next_step_runs_once(
        integration, tmp_path, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    with Receiver(delay_each=2) as receiver:
        automation_on_system_created([{"parallel": [hook(receiver.url, 0), hook(receiver.url, 1)]},
                                      log("after")])
        worker = start_worker(tmp_path, concurrency=2, **HOOK_ENV)  # two slots: one per branch
        try:
            system_create(name="api", actor="user:ann")
            wait_for(lambda: Run.objects.filter(status=RunStatus.SUCCEEDED).exists(), timeout=30,
                     what="the run to succeed")
        finally:
            worker.stop()
    run = the_run()
    parallel = RunStep.objects.get(run=run, path="actions.0")
    branch_steps = list(RunStep.objects.filter(run=run, path__startswith="actions.0.parallel."))
    [after] = RunStep.objects.filter(run=run, path="actions.1")

    assert (parallel.finished_at - parallel.started_at).total_seconds() < 3
    assert len(receiver.requests) == 2
    assert abs(starts(receiver)[1] - starts(receiver)[0]) < 1
    assert (after.status, after.attempts) == ("succeeded", 1)
    assert all(after.started_at >= s.finished_at for s in branch_steps)
    assert sorted(receiver.idempotency_keys()) == [f"{run.pk}:actions.0.parallel.0:0",
                                                    f"{run.pk}:actions.0.parallel.1:0"]


def test_two_branches_each_delaying_2s_then_calling_arrive_within_half_a_second(integration, tmp_path, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    env = {**HOOK_ENV, "CHECKSTACK_TIMER_INTERVAL_SECONDS": "0.2"}
    with Receiver() as receiver:
        automation_on_system_created([{"parallel": [[{"delay": {"seconds": 2}}, hook(receiver.url, b)]
                                                    for b in range(2)]}, log("after")])
        worker = start_worker(tmp_path, concurrency=2, **env)
        beat = start_beat(tmp_path, **env)
        try:
            system_create(name="api", actor="user:ann")
            wait_for(lambda: Run.objects.filter(status=RunStatus.SUCCEEDED).exists(), timeout=30,
                     what="the run to succeed")
        finally:
            beat.stop()
            worker.stop()
    first, second = starts(receiver)
    assert second - first < 0.5
    assert [b.status for b in RunBranch.objects.order_by("index")] == ["succeeded", "succeeded"]


def test_kill_9_during_branch_2s_step_branch_1_is_not_repeated_and_branch_2_resumes_after_its_last_step(
        integration, tmp_path, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    env = {**HOOK_ENV, "CHECKSTACK_RUN_LEASE_SECONDS": "3"}
    with Receiver() as quick, Receiver(delay_first=30) as hanging:
        automation_on_system_created([{"parallel": [[hook(quick.url, 0)],
                                                    [hook(quick.url, 1), hook(hanging.url, 2), hook(quick.url, 3)]]},
                                      hook(quick.url, 4)])
        worker = start_worker(tmp_path, name="doomed", concurrency=2, **env)
        system_create(name="api", actor="user:ann")
        wait_for(lambda: len(hanging.requests) == 1 and RunBranch.objects.filter(
            index=0, status=BranchStatus.SUCCEEDED).exists(), timeout=30, what="branch 2's step to hang")
        worker.kill()  # SIGKILL the whole worker while branch 2's step waits on its receiver
        worker.proc.wait(timeout=10)

        survivor = start_worker(tmp_path, name="survivor", concurrency=2, **env)
        beat = start_beat(tmp_path, **env)  # the sweeper re-sends the branch once its lease lapsed
        try:
            wait_for(lambda: Run.objects.filter(status=RunStatus.SUCCEEDED).exists(), timeout=60,
                     what="the run to complete")
        finally:
            beat.stop()
            survivor.stop()
    run = the_run()
    path = "actions.0.parallel.1.sequence."
    key = f"{run.pk}:{path}"
    assert sorted(quick.idempotency_keys()) == sorted([f"{run.pk}:actions.0.parallel.0.sequence.0:0", f"{key}0:0",
                                                      f"{key}2:0", f"{run.pk}:actions.1:0"])
    assert hanging.idempotency_keys() == [f"{key}1:0", f"{key}1:0"]  # once per attempt
    assert [(s.path, s.attempts) for s in RunStep.objects.filter(run=run).order_by("path")] == [
        ("actions.0", 1), ("actions.0.parallel.0.sequence.0", 1), (f"{path}0", 1), (f"{path}1", 2), (f"{path}2", 1),
        ("actions.1", 1)]
    assert [(b.status, b.attempts) for b in RunBranch.objects.order_by("index")] == [("succeeded", 1),
                                                                                     ("succeeded", 2)]


def test_cancel_during_a_parallel_stops_every_branch(integration, tmp_path, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    with Receiver(delay_each=2) as receiver:
        automation_on_system_created([{"parallel": [[hook(receiver.url, b), hook(receiver.url, 10 + b)]
                                                    for b in range(2)]}, log("after")])
        worker = start_worker(tmp_path, concurrency=2, **HOOK_ENV)
        try:
            system_create(name="api", actor="user:ann")
            wait_for(lambda: len(receiver.requests) == 2, timeout=30, what="both branches inside their first step")
            run_cancel(run=the_run(), actor="user:ann")
            time.sleep(4)  # both first calls have answered by now
        finally:
            worker.stop()
    run = the_run()
    assert run.status == RunStatus.CANCELLED
    assert sorted(r["body"]["n"] for r in receiver.requests) == [0, 1]  # no second step of either branch
    assert [b.status for b in RunBranch.objects.order_by("index")] == ["cancelled", "cancelled"]
    assert not RunStep.objects.filter(run=run, path="actions.1").exists()


def test_three_branches_waiting_on_three_entities_resume_as_each_changes(integration, tmp_path):
    from automation.services.runs import run_manual
    from catalog.services import health_report

    systems = [system_create(name=f"s{i}", actor="system") for i in range(3)]
    for system in systems:
        health_report(system=system, status="unhealthy", actor="system")
    automation = make_automation({"name": "three waits", "triggers": [{"event": "automation.manual"}], "actions": [
        {"parallel": [[{"wait_until": {"condition": f"state.health['{s.pk}'].status == 'healthy'"}},
                       log(f"s{i} healthy")] for i, s in enumerate(systems)]}, log("all healthy")]})
    worker = start_worker(tmp_path, concurrency=2)
    try:
        run = run_manual(automation=automation, actor="user:ann")
        wait_for(lambda: RunBranch.objects.filter(status=BranchStatus.WAITING).count() == 3, timeout=30,
                 what="three waiting branches")
        for i in (1, 2, 0):
            health_report(system=systems[i], status="healthy", actor="system")
            wait_for(lambda i=i: RunBranch.objects.get(index=i).status == BranchStatus.SUCCEEDED, timeout=30,
                     what=f"branch {i} to resume")
            assert [b.status for b in RunBranch.objects.order_by("index")].count("waiting") == {1: 2, 2: 1, 0: 0}[i]
        wait_for(lambda: Run.objects.filter(pk=run.pk, status=RunStatus.SUCCEEDED).exists(), timeout=30,
                 what="the run to succeed")
    finally:
        worker.stop()
    order = [b.finished_at for b in RunBranch.objects.order_by("index")]
    assert order[1] < order[2] < order[0]
