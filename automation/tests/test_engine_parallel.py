"""`parallel`: branches as independent cursors of one run — fork, fences, join, outcomes, scope, recovery."""

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from automation.definitions import ActionDefinition, ActionOutcome, definitions
from automation.engine.branches.forks import branch_claim, locked_branch
from automation.engine.branches.runner import BranchWalker, branch_advance
from automation.engine.runs.leases import PARALLEL_OWNER, LeaseLost
from automation.engine.runs.recovery import recover_stalled_runs
from automation.engine.runs.runner import run_advance
from automation.engine.waiting.timers import timers_fire_due
from automation.models import Artifact, BranchStatus, RunBranch, RunStatus, RunStep, Timer, Wait
from automation.services.runs import run_cancel, run_manual
from automation.tests.engine_support import NoteConfig, drain_branches, make_automation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def note(text, **extra):
    return {"action": "test.note", "config": {"text": text}, **extra}


def fail(text):
    return {"action": "test.note", "config": {"text": text, "fail": True}}


def start(actions, **extra):
    automation = make_automation({"name": f"par-{uuid.uuid4().hex[:8]}", "triggers": [{"event": "automation.manual"}],
                                  "actions": actions, **extra})
    run = run_manual(automation=automation, actor="user:test", payload={})
    run_advance(run_id=run.pk)
    run.refresh_from_db()
    return run


def branches(run):
    return list(RunBranch.objects.filter(run=run).order_by("path", "index"))


def statuses(run):
    return [b.status for b in branches(run)]


def finish(run):
    drain_branches()
    run.refresh_from_db()
    return run


@pytest.fixture
def hook(journal):
    """`test.hook`: an outside (external) action that records its text, then calls `hook.then` if set."""
    calls = {"then": None, "journal": journal}

    def execute(config, consumed, context):
        journal.entries.append(("hook", config.text, consumed))
        if calls["then"] is not None:
            then, calls["then"] = calls["then"], None
            then()
        return ActionOutcome.ok(result={"text": config.text})

    definitions.actions["test.hook"] = ActionDefinition(id="test.hook", description="hook", config_schema=NoteConfig,
                                                        execute=execute, external=True)
    return calls


def hook_step(text):
    return {"action": "test.hook", "config": {"text": text}}


def test_a_parallel_forks_one_cursor_per_branch_and_parks_the_run(journal):
    run = start([{"parallel": [[note("a1"), note("a2")], note("b")]}, note("after")])

    assert (run.status, run.lease_owner, run.lease_expires_at) == (RunStatus.RUNNING, PARALLEL_OWNER, None)
    assert [(b.path, b.index, b.status, b.run_token) for b in branches(run)] == [
        ("actions.0", 0, "pending", run.fencing_token), ("actions.0", 1, "pending", run.fencing_token)]
    assert list(run.steps.values_list("path", "status")) == [("actions.0", "waiting")]
    assert journal.texts() == []
    assert run_advance(run_id=run.pk) is None  # a forked run is not claimed by a stray wake-up
    assert run_advance(run_id=run.pk, resume=True) is None


def test_the_last_branch_to_end_continues_the_run_once(journal):
    run = start([{"parallel": [[note("a1"), note("a2")], note("b")]}, note("after")])
    first, second = branches(run)

    assert branch_advance(branch_id=second.pk) == BranchStatus.SUCCEEDED
    run.refresh_from_db()
    assert (run.status, journal.texts()) == (RunStatus.RUNNING, ["b"])  # branch 0 still to go
    assert branch_advance(branch_id=first.pk) == BranchStatus.SUCCEEDED
    run.refresh_from_db()

    assert (run.status, run.error) == (RunStatus.SUCCEEDED, "")
    assert journal.texts() == ["b", "a1", "a2", "after"]
    assert sorted(run.steps.values_list("path", "status")) == [
        ("actions.0", "succeeded"), ("actions.0.parallel.0.sequence.0", "succeeded"),
        ("actions.0.parallel.0.sequence.1", "succeeded"), ("actions.0.parallel.1", "succeeded"),
        ("actions.1", "succeeded")]
    assert branch_advance(branch_id=first.pk) is None  # ended: a late message does nothing


def test_a_failed_branch_fails_the_parallel_and_pending_siblings_start_nothing(journal):
    run = start([{"parallel": [note("a"), fail("b"), note("c")]}, note("after")])
    a, b, c = branches(run)
    branch_advance(branch_id=a.pk)
    branch_advance(branch_id=b.pk)
    run.refresh_from_db()

    assert journal.texts() == ["a", "b"]
    assert statuses(run) == ["succeeded", "failed", "cancelled"]
    assert run.status == RunStatus.FAILED
    assert run.error == "branch 1: told to fail: b"
    assert branch_advance(branch_id=c.pk) is None


def test_after_a_branch_fails_a_running_sibling_finishes_its_step_and_starts_no_new_one(hook):
    run = start([{"parallel": [[hook_step("a1"), hook_step("a2")], fail("b")]}, note("after")])
    a, b = branches(run)
    # Branch 1 fails while branch 0 is inside its first step's outside call.
    hook["then"] = lambda: branch_advance(branch_id=b.pk)
    branch_advance(branch_id=a.pk)
    run.refresh_from_db()

    assert hook["journal"].texts() == ["a1", "b"]
    assert [(x.status, x.error) for x in branches(run)] == [
        ("cancelled", "stopped: a sibling branch failed"), ("failed", "told to fail: b")]
    assert run.steps.get(path="actions.0.parallel.0.sequence.0").status == "succeeded"
    assert not run.steps.filter(path="actions.0.parallel.0.sequence.1").exists()
    assert run.status == RunStatus.FAILED


def test_continue_on_error_on_the_parallel_goes_on_after_a_failed_branch(journal):
    run = finish(start([{"parallel": [note("a"), fail("b")], "continue_on_error": True}, note("after")]))

    assert (run.status, run.error) == (RunStatus.SUCCEEDED, "")
    assert journal.texts() == ["a", "b", "after"]
    assert run.steps.get(path="actions.0").status == "failed"


def test_a_stop_ends_only_its_branch_and_a_stop_with_error_fails_it(journal):
    ok = finish(start([{"parallel": [[{"stop": {"reason": "enough"}}, note("never")], note("b")]}, note("after")]))
    assert (ok.status, statuses(ok)) == (RunStatus.SUCCEEDED, ["stopped", "succeeded"])
    assert journal.texts() == ["b", "after"]

    bad = finish(start([{"parallel": [[{"stop": {"reason": "broken", "error": True}}], note("c")]}, note("after")]))
    assert (bad.status, statuses(bad)) == (RunStatus.FAILED, ["failed", "cancelled"])
    assert bad.error == "branch 0: broken"
    assert journal.texts() == ["b", "after"]


def test_branches_start_from_the_scope_at_the_fork_and_merge_variables_in_branch_order(journal):
    run = start([{"variables": {"x": "fork", "y": "fork"}},
                 {"parallel": [[note("0 sees {{ variables.x }}"), {"variables": {"x": "zero", "z": "zero"}}],
                               [{"variables": {"x": "one"}}, note("1 sees {{ variables.x }} {{ variables.z }}")]]},
                 note("{{ variables.x }} {{ variables.y }} {{ variables.z }}")])
    zero, one = branches(run)
    branch_advance(branch_id=one.pk)  # the later branch finishes first
    branch_advance(branch_id=zero.pk)
    run.refresh_from_db()

    assert run.status == RunStatus.SUCCEEDED
    assert journal.texts() == ["1 sees one ", "0 sees fork", "one fork zero"]
    assert run.steps.get(path="actions.1").result["variables"] == {"x": "one", "z": "zero"}


def test_merged_variables_and_branch_artifacts_survive_a_replay_after_the_join(journal):
    run = start([{"parallel": [[{"id": "maker", "action": "test.make_thing", "config": {"text": "t1"}}],
                               [{"variables": {"v": "set"}}]]},
                 {"delay": {"seconds": 5}},
                 note("{{ variables.v }} {{ artifacts.maker.thing.thing_id }}"), {"action": "test.use_thing"}])
    run = finish(run)
    assert run.status == RunStatus.WAITING  # at the delay, after the join
    assert timers_fire_due(now=timezone.now() + timedelta(seconds=6)) == 1
    run_advance(run_id=run.pk, resume=True)  # a fresh walk from the top replays the parallel
    run.refresh_from_db()

    assert run.status == RunStatus.SUCCEEDED
    assert journal.texts() == ["t1", "set t1", "t1"]
    assert Artifact.objects.get(run=run).step_id == "maker"


def test_the_run_waits_only_when_every_unfinished_branch_waits(journal):
    run = start([{"parallel": [[{"delay": {"seconds": 5}}, note("a")], [{"delay": {"seconds": 50}}, note("b")]]},
                 note("after")])
    a, b = branches(run)
    branch_advance(branch_id=a.pk)
    run.refresh_from_db()
    assert (run.status, statuses(run)) == (RunStatus.RUNNING, ["waiting", "pending"])
    branch_advance(branch_id=b.pk)
    run.refresh_from_db()
    assert (run.status, statuses(run)) == (RunStatus.WAITING, ["waiting", "waiting"])
    assert set(Wait.objects.filter(run=run).values_list("branch_id", flat=True)) == {a.pk, b.pk}

    with mock.patch("automation.tasks.resume_branch.delay") as resume:
        assert timers_fire_due(now=timezone.now() + timedelta(seconds=6)) == 1
    assert [c.args for c in resume.call_args_list] == [(a.pk,)]  # the branch is woken, not the run
    branch_advance(branch_id=a.pk, resume=True)
    run.refresh_from_db()
    assert (run.status, statuses(run), journal.texts()) == (RunStatus.WAITING, ["succeeded", "waiting"], ["a"])

    timers_fire_due(now=timezone.now() + timedelta(seconds=51))
    branch_advance(branch_id=b.pk, resume=True)
    run.refresh_from_db()
    assert (run.status, journal.texts()) == (RunStatus.SUCCEEDED, ["a", "b", "after"])


def test_cancel_ends_every_branch_and_no_step_starts_after_it(journal):
    run = start([{"parallel": [[note("a1"), note("a2")], [{"delay": {"seconds": 5}}, note("b")], note("c")]},
                 note("after")])
    a, b, c = branches(run)
    branch_advance(branch_id=b.pk)
    claim = branch_claim(branch_id=a.pk)  # a worker holds branch 0
    walker = BranchWalker(claim.run, claim)

    run_cancel(run=run, actor="user:test")
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert statuses(run) == ["cancelled", "cancelled", "cancelled"]
    with pytest.raises(LeaseLost):
        walker.walk()  # its first step would start after the cancel: refused
    assert branch_advance(branch_id=c.pk) is None
    timers_fire_due(now=timezone.now() + timedelta(seconds=6))
    assert branch_advance(branch_id=b.pk, resume=True) is None
    assert journal.texts() == []
    # Only the delay branch 1 was parked at before the cancel: no step of any branch started after it.
    assert sorted(RunStep.objects.filter(run=run).values_list("path", "status")) == [
        ("actions.0", "waiting"), ("actions.0.parallel.1.sequence.0", "waiting")]


def test_a_lost_workers_late_write_changes_nothing_and_recovery_resumes_after_the_last_completed_step(hook):
    run = start([{"parallel": [note("a"), [hook_step("b1"), hook_step("b2"), hook_step("b3")]]}, note("after")])
    a, b = branches(run)
    branch_advance(branch_id=a.pk)
    lost = branch_claim(branch_id=b.pk)
    walker = BranchWalker(lost.run, lost)
    walker.walk_step(hook_step("b1"), "actions.0.parallel.1.sequence.0", "")
    walker.begin(hook_step("b2"), "actions.0.parallel.1.sequence.1", "", "action", None)  # then the worker died

    later = timezone.now() + timedelta(seconds=61)
    with mock.patch("django.utils.timezone.now", lambda: later), \
            mock.patch("automation.tasks.advance_branch.delay") as advance:
        assert recover_stalled_runs() == 1
        assert [c.args for c in advance.call_args_list] == [(b.pk,)]
        assert branch_advance(branch_id=b.pk) == BranchStatus.SUCCEEDED
    with pytest.raises(LeaseLost):
        locked_branch(lost)  # the lost worker's token is stale
    run.refresh_from_db()

    assert hook["journal"].texts() == ["a", "b1", "b2", "b3", "after"]  # a and b1 not repeated
    assert run.status == RunStatus.SUCCEEDED
    assert run.steps.get(path="actions.0.parallel.1.sequence.1").attempts == 2
    assert run.steps.get(path="actions.0.parallel.1.sequence.0").attempts == 1
    assert RunBranch.objects.get(pk=b.pk).attempts == 2


def test_a_parallel_inside_a_branch_joins_into_its_branch(journal):
    run = finish(start([{"parallel": [[{"parallel": [note("x"), note("y")]}, note("after inner")], note("b")]},
                        note("after")]))

    assert run.status == RunStatus.SUCCEEDED
    assert journal.texts()[-2:] == ["after inner", "after"]
    assert sorted(journal.texts()) == ["after", "after inner", "b", "x", "y"]
    inner = RunBranch.objects.filter(run=run, path="actions.0.parallel.0.sequence.0")
    assert [b.status for b in inner] == ["succeeded", "succeeded"]
    assert all(b.parent is not None for b in inner)


def test_a_branch_lost_too_often_fails_and_the_join_still_happens(journal, settings):
    settings.CHECKSTACK_RUN_MAX_ATTEMPTS = 1
    run = start([{"parallel": [note("a"), note("b")]}, note("after")])
    a, b = branches(run)
    branch_advance(branch_id=a.pk)
    branch_claim(branch_id=b.pk)  # its worker dies
    later = timezone.now() + timedelta(seconds=61)
    with mock.patch("django.utils.timezone.now", lambda: later):
        branch_advance(branch_id=b.pk)
    run.refresh_from_db()

    assert (run.status, statuses(run)) == (RunStatus.FAILED, ["succeeded", "failed"])
    assert "gave up after 1 attempts" in run.error
    assert Timer.objects.filter(fired_at=None).count() == 0


def test_three_branches_waiting_on_three_entities_resume_as_each_changes_in_any_order(journal):
    from automation.entities.delivery import route_change_event
    from automation.models import ChangeEvent
    from catalog.services import health_report, system_create

    systems = [system_create(name=f"s{i}", actor="system") for i in range(3)]
    for system in systems:
        health_report(system=system, status="unhealthy", actor="system")
    run = start([{"parallel": [[{"wait_until": {"condition": f"state.health['{s.pk}'].status == 'healthy'"}},
                                note(f"s{i} healthy")] for i, s in enumerate(systems)]}, note("all healthy")])
    drain_branches()
    run.refresh_from_db()
    assert (run.status, statuses(run)) == (RunStatus.WAITING, ["waiting"] * 3)
    by_index = {b.index: b.pk for b in branches(run)}

    for i in (2, 0, 1):
        health_report(system=systems[i], status="healthy", actor="system")
        with mock.patch("automation.tasks.resume_branch.delay") as resume:
            route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))
        assert {c.args for c in resume.call_args_list} == {(by_index[i],)}  # that branch alone is woken
        branch_advance(branch_id=by_index[i], resume=True)
    run.refresh_from_db()

    assert run.status == RunStatus.SUCCEEDED
    assert journal.texts() == ["s2 healthy", "s0 healthy", "s1 healthy", "all healthy"]


def test_a_wait_for_trigger_in_a_branch_resumes_that_branch(journal):
    from automation.engine.waiting.trigger_waits import resume_waiting_for
    from automation.models import DerivedTriggerEvent

    run = start([{"parallel": [[{"wait_for_trigger": {"event": "automation.manual"}}, note("n={{ resume.payload.n }}")],
                               note("b")]}, note("after")])
    drain_branches()
    waiting = RunBranch.objects.get(run=run, index=0)
    assert waiting.status == BranchStatus.WAITING
    event = DerivedTriggerEvent(event="automation.manual", context_key=None, payload={"n": 7})
    with mock.patch("automation.tasks.resume_branch.delay") as resume:
        from django.db import transaction

        with transaction.atomic():
            assert resume_waiting_for([event]) == 1
    assert [c.args for c in resume.call_args_list] == [(waiting.pk,)]
    branch_advance(branch_id=waiting.pk, resume=True)
    run.refresh_from_db()
    assert run.error == ""
    assert (run.status, journal.texts()) == (RunStatus.SUCCEEDED, ["b", "n=7", "after"])


def test_simulate_and_the_timeline_use_the_walkers_paths_and_show_branches_side_by_side(journal):
    from automation.admin.timeline import timeline_bars
    from automation.engine.inspection.simulate import simulate

    document = [{"parallel": [[note("a1"), note("a2")], note("b")]}, note("after")]
    run = finish(start(document))
    trace = simulate(run.automation, event="automation.manual", payload={})["traces"][0]["steps"]

    assert [(s["path"], s.get("lane")) for s in trace] == [
        ("actions.0", None), ("actions.0.parallel.0.sequence.0", "actions.0.parallel.0"),
        ("actions.0.parallel.0.sequence.1", "actions.0.parallel.0"), ("actions.0.parallel.1", "actions.0.parallel.1"),
        ("actions.1", None)]
    assert {s["path"] for s in trace} == set(run.steps.values_list("path", flat=True))
    bars = timeline_bars(run, list(run.steps.all()), list(run.branches.all()))
    assert [(b["path"], b["kind"], b["lane"]) for b in bars] == [
        ("actions.0", "parallel", ""),
        ("actions.0.parallel.0", "branch", "branch 0"),
        ("actions.0.parallel.0.sequence.0", "action", "branch 0"),
        ("actions.0.parallel.0.sequence.1", "action", "branch 0"),
        ("actions.0.parallel.1", "branch", "branch 1"),
        ("actions.0.parallel.1", "action", "branch 1"),
        ("actions.1", "action", "")]
