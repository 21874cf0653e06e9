"""The walker: step kinds, step rows, artifacts, stop/condition, continue_on_error."""

import uuid

import pytest

from automation.engine.runs.runner import run_advance
from automation.models import Artifact, RunStatus
from automation.services.runs import run_manual
from automation.tests.engine_support import drain_branches, make_automation

pytestmark = pytest.mark.django_db(transaction=True)


def run_doc(actions, payload=None, **extra):
    automation = make_automation({"name": f"walk-{uuid.uuid4().hex[:8]}", "triggers": [{"event": "automation.manual"}],
                                  "actions": actions,
                                  **extra})
    run = run_manual(automation=automation, actor="user:test", payload=payload or {})
    run_advance(run_id=run.pk)
    run.refresh_from_db()
    return run


def note(text, **extra):
    return {"action": "test.note", "config": {"text": text}, **extra}


def steps(run):
    return [(s.path, s.kind, s.status) for s in run.steps.order_by("id")]


def test_actions_run_in_order_with_a_row_each(journal):
    run = run_doc([note("one"), note("two")])
    assert (run.status, run.error) == (RunStatus.SUCCEEDED, "")
    assert journal.texts() == ["one", "two"]
    assert steps(run) == [("actions.0", "action", "succeeded"), ("actions.1", "action", "succeeded")]
    first = run.steps.get(path="actions.0")
    assert (first.attempts, first.result, first.error) == (1, {"text": "one"}, "")


def test_templates_in_config_see_the_trigger_payload(journal):
    run_doc([note("{{ trigger.payload.who }} is down")], payload={"who": "api"})
    assert journal.texts() == ["api is down"]


def test_choose_takes_the_first_true_option_else_the_else(journal):
    choose = {"choose": [{"when": "trigger.payload.n > 5", "sequence": [note("big")]},
                         {"when": "trigger.payload.n > 1", "sequence": [note("medium")]}],
              "else": [note("small")]}
    run_doc([choose], payload={"n": 3})
    run_doc([choose], payload={"n": 0})
    assert journal.texts() == ["medium", "small"]


def test_choose_rows_carry_the_branch_path(journal):
    run = run_doc([{"choose": [{"when": "true", "sequence": [note("a"), note("b")]}]}])
    assert steps(run) == [
        ("actions.0", "choose", "succeeded"),
        ("actions.0.choose.0.sequence.0", "action", "succeeded"),
        ("actions.0.choose.0.sequence.1", "action", "succeeded"),
    ]


def test_parallel_fails_if_a_branch_failed_and_its_siblings_start_nothing_after(journal):
    # Branches are cursors of their own (test_engine_parallel.py); drained here oldest first.
    run = run_doc([{"parallel": [note("a"), note("b", config={"text": "b", "fail": True}), note("c")]}, note("after")])
    drain_branches()
    run.refresh_from_db()
    assert journal.texts() == ["a", "b"]  # c had not started when b failed: it never does
    assert run.status == RunStatus.FAILED
    assert run.error == "branch 1: told to fail: b"


def test_repeat_count_for_each_while_until(journal):
    run_doc([{"repeat": {"count": 2, "sequence": [note("c{{ repeat.index }}")]}}])
    run_doc([{"repeat": {"for_each": "['x', 'y']", "sequence": [note("f{{ repeat.item }}")]}}])
    run_doc([{"variables": {"n": 0}},
             {"repeat": {"while": "repeat.index < 3", "sequence": [note("w{{ repeat.index }}")]}}])
    run_doc([{"repeat": {"until": "repeat.index >= 1", "sequence": [note("u{{ repeat.index }}")]}}])
    assert journal.texts() == ["c0", "c1", "fx", "fy", "w0", "w1", "w2", "u0", "u1"]


def test_repeat_iterations_have_their_own_rows(journal):
    run = run_doc([{"repeat": {"count": 2, "sequence": [note("x")]}}])
    assert sorted((s.path, s.iteration) for s in run.steps.all()) == [
        ("actions.0", ""), ("actions.0.repeat.sequence.0", "0"), ("actions.0.repeat.sequence.0", "1"),
    ]


def test_while_hitting_max_iterations_fails_clearly(journal):
    run = run_doc([{"repeat": {"while": "true", "max_iterations": 3, "sequence": [note("x")]}}])
    assert run.status == RunStatus.FAILED
    assert "max_iterations (3)" in run.error
    assert journal.texts() == ["x", "x", "x"]


def test_variables_are_visible_to_later_steps(journal):
    run_doc([{"variables": {"greeting": "hello {{ trigger.payload.who }}"}}, note("{{ variables.greeting }}!")],
            payload={"who": "ops"})
    assert journal.texts() == ["hello ops!"]


def test_condition_false_ends_the_run_as_succeeded(journal):
    run = run_doc([note("before"), {"condition": "false"}, note("after")])
    assert (run.status, run.reason, run.error) == (RunStatus.SUCCEEDED, "condition not met", "")
    assert journal.texts() == ["before"]


def test_stop_ends_the_run_succeeded_or_failed(journal):
    ok = run_doc([{"stop": {"reason": "enough"}}, note("never")])
    bad = run_doc([{"stop": {"reason": "broken", "error": True}}, note("never")])
    assert (ok.status, ok.reason) == (RunStatus.SUCCEEDED, "enough")
    assert (bad.status, bad.error) == (RunStatus.FAILED, "broken")
    assert journal.texts() == []


def test_disabled_steps_are_skipped_and_continue_on_error_goes_on(journal):
    run = run_doc([note("off", enabled=False),
                   {"action": "test.note", "config": {"text": "bad", "fail": True}, "continue_on_error": True},
                   note("after")])
    assert (run.status, run.error) == (RunStatus.SUCCEEDED, "")
    assert journal.texts() == ["bad", "after"]
    assert run.steps.get(path="actions.1").status == "failed"
    assert not run.steps.filter(path="actions.0").exists()


def test_a_failing_step_fails_the_run_and_stops_it(journal):
    run = run_doc([{"action": "test.note", "config": {"text": "bad", "fail": True}}, note("after")])
    assert run.status == RunStatus.FAILED
    assert run.error == "told to fail: bad"
    assert journal.texts() == ["bad"]


def test_consume_an_artifact_from_an_earlier_step(journal):
    run = run_doc([{"id": "make", "action": "test.make_thing", "config": {"text": "T1"}},
                   {"action": "test.use_thing", "config": {}}])
    assert journal.entries[-1] == ("use", "T1", {"thing": {"thing_id": "T1"}})
    assert list(Artifact.objects.filter(run=run).values_list("type", "step_id", "data")) == [
        ("thing", "make", {"thing_id": "T1"})
    ]


def test_explicit_id_wins_over_the_artifact(journal):
    run_doc([{"id": "make", "action": "test.make_thing", "config": {"text": "T1"}},
             {"action": "test.use_thing", "config": {"thing_id": "EXPLICIT"}}])
    assert journal.entries[-1][1] == "EXPLICIT"


def test_artifact_from_an_earlier_run_of_the_same_context_is_consumed_and_closed(journal):
    automation = make_automation({"name": "two-phase", "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"choose": [{"when": "trigger.payload.phase == 'open'", "sequence": [
                                      {"id": "make", "action": "test.make_thing", "config": {"text": "T9"}}]}],
                                      "else": [{"action": "test.close_thing", "config": {}}]}]})
    for phase in ("open", "close"):
        run = run_manual(automation=automation, actor="user:test", payload={"phase": phase, "system_id": "s1"})
        run_advance(run_id=run.pk)
    assert journal.entries[-1][:2] == ("use", "T9")
    assert Artifact.objects.get().closed_at is not None
    # Closed: a third run finds nothing to consume.
    run = run_manual(automation=automation, actor="user:test", payload={"phase": "close", "system_id": "s1"})
    run_advance(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "no upstream thing" in run.error


@pytest.mark.postgres
@pytest.mark.parametrize("spec", [{"count": 2_000_000_000}, {"count": "2000000000"},
                                  {"for_each": "range(10000)"}])
def test_repeat_reads_no_further_than_max_iterations(journal, spec):
    # Before: count built a list of two billion items (and tried to record it) before the limit applied.
    run = run_doc([{"repeat": {**spec, "max_iterations": 3, "sequence": [note("i{{ repeat.index }}")]}}])
    assert (run.status, run.error) == (RunStatus.SUCCEEDED, "")
    assert journal.texts() == ["i0", "i1", "i2"]
    assert run.steps.get(path="actions.0").result == {"iterations": 3}
