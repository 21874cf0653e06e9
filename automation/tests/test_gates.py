"""gates.py: each gate of a firing as a pure decision, with no database."""

from datetime import datetime, timedelta, timezone

import pytest

from automation.engine.firing.gates import (
    REASON_ACTIVE,
    REASON_CONDITIONS,
    REASON_FILTER,
    REASON_LOOP,
    REASON_MAX_RUNS,
    REASON_QUEUE_FULL,
    Bucket,
    Gate,
    conditions_gate,
    dwell_gate,
    filter_gate,
    loop_guard,
    mode_gate,
    partition_key,
    window_gate,
    window_start,
)
from automation.engine.inspection.replay import WindowMemory, replay_time_gates

SCOPE = {"trigger": {"id": "t", "event": "e", "actor": "system", "payload": {"system_id": "s1", "latency": 250,
                                                                                "region": "eu"}}}


def test_filter_passes_without_one_matches_misses_and_carries_an_error():
    assert filter_gate({}, SCOPE) == Gate("filter", True, "no filter")
    assert filter_gate({"filter": "trigger.payload.latency > 100"}, SCOPE).passed is True
    assert filter_gate({"filter": "trigger.payload.latency > 300"}, SCOPE) == Gate("filter", False, REASON_FILTER)
    broken = filter_gate({"filter": "trigger.payload.latency > 'x' + 1"}, SCOPE)
    assert (broken.passed, broken.detail.startswith("filter error: ")) == (False, True)
    assert broken.error and broken.error in broken.detail


def test_loop_guard_allows_the_limit_and_stops_beyond_it():
    assert loop_guard(10, 10) == Gate("loop guard", True, "causal depth 10 (limit 10)")
    assert loop_guard(11, 10) == Gate("loop guard", False, REASON_LOOP)


def test_partition_key_is_partition_by_when_it_yields_a_value_else_the_context_key():
    assert partition_key({"window": {"partition_by": "trigger.payload.region"}}, SCOPE, "s1") == "eu"
    assert partition_key({"window": {"partition_by": "trigger.payload.missing"}}, SCOPE, "s1") == "s1"
    assert partition_key({"window": {"partition_by": "1 / 0"}}, SCOPE, "s1") == "s1"  # an error falls back
    assert partition_key({"window": {}}, SCOPE, None) == ""


def test_window_start_is_minutes_before_the_occurrence():
    at = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert window_start({"minutes": 15}, at) == at - timedelta(minutes=15)


@pytest.mark.parametrize("refire, fired_at", [("every", [3, 4, 5]), ("once", [3])])
def test_window_every_fires_from_the_count_th_on_and_once_only_at_it(refire, fired_at):
    window = {"count": 3, "minutes": 5, "refire": refire}
    assert [n for n in range(1, 6) if window_gate(window, n).passed] == fired_at
    assert window_gate(window, 2) == Gate("window", False, "window: 2 of 3 in 5 min")


def test_window_refire_defaults_to_every():
    assert window_gate({"count": 1, "minutes": 5}, 2).passed is True


def test_dwell_holds_the_firing_and_arms_for_the_duration_or_carries_a_bad_one():
    gate, seconds = dwell_gate({"for": {"minutes": 2}}, SCOPE)
    assert (gate.gate, gate.passed, seconds) == ("dwell", False, 120)
    assert dwell_gate({"for": {"template": "trigger.payload.latency"}}, SCOPE)[1] == 250
    for bad in ({"template": "trigger.payload.region"}, {"template": "trigger.payload.nope +"}):
        gate, seconds = dwell_gate({"for": bad}, SCOPE)
        assert (gate.passed, seconds, gate.detail.startswith("dwell duration: ")) == (False, None, True)
        assert gate.error


def test_conditions_all_must_hold_and_an_error_does_not():
    assert conditions_gate([], SCOPE) == Gate("conditions", True, "0 condition(s) hold")
    assert conditions_gate(["trigger.payload.latency > 1", {"not": "false"}], SCOPE).passed is True
    assert conditions_gate(["true", "trigger.payload.latency > 999"], SCOPE) == Gate("conditions", False,
                                                                                      REASON_CONDITIONS)
    errored = conditions_gate(["true", "trigger.payload.latency > 'x' + 1"], SCOPE)
    assert (errored.passed, errored.detail.startswith(f"{REASON_CONDITIONS}: conditions.1: ")) == (False, True)


def test_mode_single_and_parallel():
    assert mode_gate("single", 10, Bucket()).start_now is True
    assert mode_gate("single", 10, Bucket(active=1)).gate == Gate("mode", False, REASON_ACTIVE)
    assert mode_gate("parallel", 2, Bucket(active=1)).gate.passed is True
    assert mode_gate("parallel", 2, Bucket(active=2)).gate == Gate("mode", False, REASON_MAX_RUNS)


def test_mode_queued_counts_waiting_runs_and_refuses_a_full_queue():
    empty = mode_gate("queued", 1, Bucket())
    assert (empty.gate.passed, empty.start_now) == (True, True)
    behind_one = mode_gate("queued", 1, Bucket(active=1))  # one running, none waiting
    assert (behind_one.gate.passed, behind_one.start_now) == (True, False)
    # Nothing started yet: the oldest pending run is next, not waiting.
    assert mode_gate("queued", 1, Bucket(active=1, pending=1)).gate.passed is True
    assert mode_gate("queued", 1, Bucket(active=2, pending=1)).gate == Gate("mode", False, REASON_QUEUE_FULL)
    assert mode_gate("queued", 1, Bucket(active=2, pending=2)).gate == Gate("mode", False, REASON_QUEUE_FULL)


def test_mode_restart_always_starts_and_cancels_what_is_active():
    calm = mode_gate("restart", 1, Bucket())
    assert (calm.gate.passed, calm.cancel_active) == (True, False)
    busy = mode_gate("restart", 1, Bucket(active=3, pending=1))
    assert (busy.gate.passed, busy.start_now, busy.cancel_active) == (True, True, True)
    assert busy.gate.detail.endswith("they would be cancelled")


def test_replay_counts_the_window_by_each_occurrence_time_and_only_past_the_filter(settings):
    settings.CHECKSTACK_MAX_CHAIN_DEPTH = 10
    trigger = {"id": "t", "filter": "trigger.payload.latency > 100", "window": {"count": 2, "minutes": 5}}
    windows, t0 = WindowMemory(), datetime(2030, 1, 1, tzinfo=timezone.utc)

    def replay(minute, latency=250, depth=0):
        scope = {"trigger": {**SCOPE["trigger"], "payload": {"latency": latency}}}
        return replay_time_gates(trigger=trigger, scope=scope, context_key="s1", depth=depth,
                                 at=t0 + timedelta(minutes=minute), windows=windows)

    assert replay(0).stopped_by.detail == "window: 1 of 2 in 5 min"
    assert replay(1, latency=5).stopped_by.gate == "filter"  # a miss is not an occurrence
    assert replay(2, depth=11).stopped_by.gate == "loop guard"  # nor is a looping change
    assert replay(4).passed is True  # minutes 0 and 4
    assert replay(10).stopped_by.detail == "window: 1 of 2 in 5 min"  # the clock is the occurrence's
    assert [g.gate for g in replay(11).gates] == ["filter", "loop guard", "window"]
